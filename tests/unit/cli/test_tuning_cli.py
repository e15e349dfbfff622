"""`civil sites policy-history|calibrate|shadow` and `civil comments rescore` on real rows."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from civil.comments import submit_comment
from civil.decision import pipeline
from civil.models import Comment
from civil.schema import CommentIn
from cli import civil
from tests.factories import comment_body
from tests.support.scorers import KeywordScorer

KEYWORD = "python:tests.support.scorers:KeywordScorer"


@pytest.fixture
def run(settings, db, monkeypatch):
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CIVIL_TOXICITY_MODEL", KEYWORD)
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(civil, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.stdout
        return result

    return invoke


def _post(db, site_id, text):
    submitted = submit_comment(db, site_id, CommentIn.model_validate(comment_body(content=text)))
    pipeline.score_comments(db, [(submitted.comment_id, submitted.revision)], KeywordScorer)
    return submitted.comment_id


def test_update_history_shadow_and_rescore(run, db, site) -> None:
    sid = site.site_id
    run("sites", "update", sid, "--policy", '{"mode": "pre"}', "--why", "election night")
    history = json.loads(run("sites", "policy-history", sid).stdout)
    assert history["live_version"] == 2
    assert history["versions"][0]["diff"] == {"mode": {"from": "post", "to": "pre"}}
    assert history["versions"][0]["why"] == "election night"
    assert history["versions"][0]["actor"].startswith("cli:")
    run("sites", "update", sid, "--policy", '{"mode": "post"}')
    attached = json.loads(
        run("sites", "shadow", "attach", sid, "--policy", '{"banned_words": ["plan"]}').stdout
    )
    assert attached["id"].startswith("cand_")
    _post(db, sid, "a stupid plan")
    _post(db, sid, "Thanks")
    report = json.loads(run("sites", "shadow", "report", sid, "--since", "1h").stdout)
    assert report["changed"] == 1 and report["changes"][0]["to"] == "reject"
    assert report["changes"][0]["by_reason"] == {"banned_word": 1}
    calibration = json.loads(run("sites", "calibrate", sid).stdout)
    assert calibration["labels"]["toxicity"]["status"] == "insufficient_labels"
    assert calibration["proposal"] == {}
    bad = run("sites", "calibrate", sid, "--target", "2", ok=False)
    assert bad.exit_code == 2 and json.loads(bad.stderr)["error"] == "validation_failed"
    dry = json.loads(run("comments", "rescore", "--site", sid, "--candidate", "--dry-run").stdout)
    assert (dry["processed"], dry["changed"]) == (2, 1)
    assert dry["report"]["changes"][0]["from"] == "hold"
    with db.session() as s:
        assert sorted(c.status for c in s.query(Comment)) == ["approved", "held"]
    promoted = json.loads(run("sites", "shadow", "promote", sid, "--why", "ban it").stdout)
    assert promoted["policy_version"] == 4
    done = json.loads(run("comments", "rescore", "--site", sid, "--status", "held").stdout)
    assert (done["processed"], done["changed"], done["events"]) == (1, 1, 1)
    with db.session() as s:
        assert sorted(c.status for c in s.query(Comment)) == ["approved", "rejected"]
    missing = run("sites", "shadow", "promote", sid, ok=False)
    assert missing.exit_code == 2 and json.loads(missing.stderr)["error"] == "not_found"
