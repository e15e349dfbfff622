"""`civil models train-spam` and `civil models evaluate-spam` on small real-looking data."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from civil.comments import submit_comment
from civil.feedback import record_spam_label
from civil.models import Comment
from civil.schema import CommentIn
from civil.spam.service import model_for, site_model_dir
from civil.spam.textmodel import DEFAULT_DIR
from civil.spam.training.evaluate import BLOG_CSV
from cli import civil
from tests.factories import comment_body

SPAM = [
    "Check out my channel for free music, subscribe now http://example.com/{n}",
    "Win a free iPhone {n}! Click here to claim your prize",
    "Make money from home, earn {n} dollars a day, visit my page",
    "Subscribe to my channel please, I post new videos every day {n}",
]
HAM = [
    "This song is still amazing after {n} years",
    "I love the chorus, it reminds me of summer {n}",
    "The dancing in this video is hilarious {n}",
    "Who is still listening in {n}?",
]


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "spam-data"
    (root / "youtube").mkdir(parents=True)
    (root / "sms").mkdir()
    with (root / "youtube" / "Youtube01-Test.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "CLASS"])
        for n in range(12):
            for i, text in enumerate(SPAM):
                writer.writerow([f"s{n}{i}", "a", "2014-01-01T00:00:00", text.format(n=n), 1])
            for i, text in enumerate(HAM):
                writer.writerow([f"h{n}{i}", "b", "2014-01-01T00:00:00", text.format(n=n), 0])
    (root / "sms" / "SMSSpamCollection.tsv").write_text(
        "label\ttext\nLabel\tSMS\nham\tSee you at lunch\nspam\tURGENT call now to claim cash\n"
    )
    return root


@pytest.fixture
def run(settings, db, monkeypatch, tmp_path):
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    # Training must never overwrite the shipped model: point the model dir elsewhere.
    monkeypatch.setenv("CIVIL_MODEL_DIR", str(tmp_path / "models"))
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(civil, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def test_evaluate_spam_prints_the_four_metrics(run):
    out = run(
        "models", "evaluate-spam", "--data", str(BLOG_CSV), "--model", str(DEFAULT_DIR)
    ).output
    values = dict(part.split("=") for part in out.split() if "=" in part)
    assert {"precision", "recall", "f1", "roc_auc"} <= set(values)
    assert 0.5 < float(values["roc_auc"]) <= 1.0 and int(values["n"]) > 50


def test_evaluate_spam_refuses_a_csv_without_the_columns(run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("body,verdict\nhello,1\n")
    result = run("models", "evaluate-spam", "--data", str(bad), ok=False)
    assert result.exit_code != 0 and "needs a text column" in result.output


def test_train_spam_for_a_site_adds_only_its_own_labels(run, db, site, settings, data_root):
    body = comment_body(content="Cheap tickets for every match at tix-deals.example")
    sub = submit_comment(db, site.site_id, CommentIn.model_validate(body))
    with db.session() as s:
        record_spam_label(s, s.get(Comment, sub.comment_id), "spam", "moderator")
    out = json.loads(
        run("models", "train-spam", "--data", str(data_root), "--site", site.site_id).stdout
    )
    assert set(out) == {site.site_id}, "--site retrains that site only, never the shipped model"
    assert out[site.site_id]["site_labels"] == 1
    own = site_model_dir(settings, site.site_id)
    assert (own / "weights.npz").exists() and (own / "linear.json").exists()
    assert model_for(settings, site.site_id).meta["site_labels"] == 1
    assert model_for(settings, "site_without_labels").meta.get("site_labels") == 0  # shipped


def test_train_spam_base_only_writes_to_the_model_dir(
    run, settings, data_root, tmp_path, monkeypatch
):
    out = json.loads(run("models", "train-spam", "--data", str(data_root), "--base-only").stdout)
    assert set(out) == {"base"} and out["base"]["rows"] > 90
    assert (tmp_path / "models" / "spam" / "weights.npz").exists()


def test_train_spam_without_data_says_so(run, tmp_path):
    result = run("models", "train-spam", "--data", str(tmp_path / "nowhere"), ok=False)
    assert result.exit_code != 0 and "no spam training data" in result.output


def test_a_failed_retraining_leaves_the_sites_model_whole(settings, site, data_root, monkeypatch):
    from pathlib import Path

    from civil.spam.training import train

    own = site_model_dir(settings, site.site_id)
    train.train(own, data_root, [("Cheap tickets at tix-deals.example", "spam")])
    before = {p.name: p.read_bytes() for p in own.iterdir()}

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    # The weights are written, then the description fails: a reader must never see that mix.
    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError):
        train.train(own, data_root, [("Cheap tickets at tix-deals.example", "ham")])
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in own.iterdir()} == before
    assert [p.name for p in own.parent.iterdir()] == [own.name], "no staging folder left behind"


def test_a_corrupt_site_model_falls_back_to_the_shipped_one(settings, site, caplog):
    own = site_model_dir(settings, site.site_id)
    own.mkdir(parents=True)
    (own / "linear.json").write_text("{not json")
    (own / "weights.npz").write_bytes(b"half a zip")
    model = model_for(settings, site.site_id)
    assert model.meta.get("site_labels") == 0 and "unusable" in caplog.text


def test_train_spam_refuses_a_site_that_does_not_exist(run, settings, data_root):
    result = run("models", "train-spam", "--data", str(data_root), "--site", "../x", ok=False)
    assert result.exit_code != 0 and "no such site: ../x" in result.output
    assert not site_model_dir(settings, "../x").exists()
