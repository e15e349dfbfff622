import csv
import json

import pytest
from click.testing import CliRunner

from civil.sites import authenticate
from cli import civil


@pytest.fixture
def run(settings, db, monkeypatch):
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(civil, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def test_sites_lifecycle(run, db):
    created = json.loads(
        run("sites", "create", "--name", "Blog", "--callback-url", "http://127.0.0.1:9/h").output
    )
    assert set(created) == {"site_id", "api_key", "signing_secret"}
    with db.session() as s:
        site = authenticate(s, created["api_key"])
        assert site.id == created["site_id"] and site.api_key_hash != created["api_key"]
    listed = json.loads(run("sites", "list").output)
    assert [x["site_id"] for x in listed] == [created["site_id"]]
    assert "api_key" not in listed[0]
    rotated = json.loads(run("sites", "rotate-secret", created["site_id"]).output)
    assert rotated["signing_secret"].startswith("whsec_")
    assert rotated["signing_secret"] != created["signing_secret"]
    updated = json.loads(
        run(
            "sites",
            "update",
            created["site_id"],
            "--policy",
            '{"mode": "pre", "thresholds": {"threat": 0.5}}',
        ).output
    )
    assert updated["policy"]["mode"] == "pre" and updated["policy"]["thresholds"]["threat"] == 0.5
    run("sites", "delete", created["site_id"], "--yes")
    assert json.loads(run("sites", "list").output) == []


def test_bad_policy_and_private_callback_are_refused(run, monkeypatch):
    bad = run(
        "sites", "create", "--name", "X", "--policy", '{"thresholds": {"rudeness": 0.5}}', ok=False
    )
    assert bad.exit_code == 2 and json.loads(bad.stderr)["error"] == "validation_failed"
    monkeypatch.setenv("CIVIL_ALLOW_PRIVATE_CALLBACKS", "0")
    refused = run("sites", "create", "--name", "X", "--callback-url", "http://10.0.0.5/h", ok=False)
    assert json.loads(refused.stderr)["error"] == "callback_url_refused"
    assert json.loads(run("sites", "list").output) == []


def test_status_and_empty_deliveries(run):
    status = json.loads(run("status").output)
    assert status["workers"] == [] and status["dead_letters"] == 0
    assert status["queues"] == {"scoring": 0, "delivery": 0, "maintenance": 0}
    assert json.loads(run("deliveries", "list").output) == []


def test_status_beat_fails_until_a_scheduler_ticked_and_is_no_worker(run, db):
    from workers import heartbeat

    assert run("status", "--beat", ok=False).exit_code == 1
    heartbeat.beat(db, "scheduler@host-1", "")
    assert json.loads(run("status", "--beat").output)["schedulers"][0]["name"] == "scheduler@host-1"
    status = json.loads(run("status").output)
    assert status["workers"] == [] and len(status["schedulers"]) == 1


def test_models_bias_reads_the_wikipedia_sets_it_is_given(run, tmp_path):
    folder = tmp_path / "toxicity" / "wikipedia-bias"
    folder.mkdir(parents=True)
    rows = [
        ("1", "Thanks for fixing the citation on the gay rights article.", "False"),
        ("2", "You are a stupid idiot, stop vandalising this page.", "True"),
    ]
    for name in ("fuzzed", "nonfuzzed"):
        with (folder / f"toxicity_{name}_testset.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows([("rev_id", "comment", "toxic"), *rows])
    out = run("models", "bias", "--model", "linear", "--data", str(tmp_path / "toxicity"))
    report = json.loads(out.output)
    assert report["templates"]["fpr_max"] <= 1.0
    assert set(report["wikipedia_bias"]) >= {"fuzzed", "nonfuzzed"}
    assert report["wikipedia_bias"]["fuzzed"]["auc"] == 1.0
