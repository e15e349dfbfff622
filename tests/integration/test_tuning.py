"""Policy tuning on real rows, on SQLite and PostgreSQL: versions, overrides, standing, the
burst guard, shadow candidates, calibration and re-scoring."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from civil.comments import submit_comment
from civil.db import Database
from civil.decision import pipeline
from civil.decision.policy import DEFAULT_REJECT, Policy
from civil.models import Article, AuditEntry, Comment, Event, PolicyVersion, ShadowDecision, Site
from civil.moderation import actions
from civil.moderation.accounts import Identity
from civil.schema import CommentIn
from civil.sites import change_policy, create_site, rotate_key
from civil.tuning import calibration, rescore, shadow
from civil.tuning.versions import policy_history
from tests.conftest import make_settings
from tests.factories import comment_body
from tests.support.moderation import moderator
from tests.support.policies import EARLIER_REJECT
from tests.support.scorers import KeywordScorer


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Database:
    if request.param == "sqlite":
        return request.getfixturevalue("db")
    _, db = request.getfixturevalue("pg_db")
    return db


# A site's own reject threshold for plain toxicity: the default policy only holds it.
REJECT_TOXIC = {"toxicity": 0.92}


def new_site(db: Database, **policy: Any) -> str:
    # Texts repeat across these tests on purpose: the repeat rule is not what they test.
    policy.setdefault("repeat_window_minutes", 0)
    with db.session() as session:
        return create_site(
            session,
            name="Tuned",
            callback_url="http://127.0.0.1:9/h",
            policy=policy,
            allow_private=True,
        ).site_id


def change(db: Database, site_id: str, **changes: Any) -> None:
    with db.session() as session:
        change_policy(
            session, session.get(Site, site_id), changes, actor="ed@example.org", source="cli"
        )


def post(db: Database, site_id: str, text: str, **body: Any) -> Comment:
    """Submit a comment and decide it through the real pipeline with the keyword model."""
    submitted = submit_comment(
        db, site_id, CommentIn.model_validate(comment_body(content=text, **body))
    )
    pipeline.score_comments(db, [(submitted.comment_id, submitted.revision)], KeywordScorer)
    with db.session() as session:
        comment = session.get(Comment, submitted.comment_id)
        session.expunge(comment)
        return comment


def codes(comment: Comment) -> list[str]:
    return [r["code"] for r in comment.decision["reasons"]]


def author(n: str) -> dict[str, Any]:
    return {"id": n, "name": n, "email": f"{n}@example.org"}


def me(db: Database, site_id: str) -> Identity:
    mod_id, _ = moderator(db, f"mod-{site_id}@example.org", [site_id])
    return Identity(mod_id, f"mod-{site_id}@example.org", False, frozenset({site_id}))


def act(db: Database, who: Identity, comment_id: int, action: str, reason: str | None = None):
    with db.session() as session:
        return actions.act(session, who, comment_id, action, reason)


# --- policy versions ---------------------------------------------------------------------------


def test_each_change_is_a_version_with_who_why_diff_and_decisions_name_it(database) -> None:
    site_id = new_site(database)
    assert post(database, site_id, "a stupid plan").decision["policy_version"] == 1
    with database.session() as session:
        site = session.get(Site, site_id)
        change_policy(
            session,
            site,
            {"hold_thresholds": {**site.policy["hold_thresholds"], "toxicity": 0.75}},
            actor="ed@example.org",
            source="api",
            why="fewer holds for mild words",
        )
        # The same document again is no change: no version.
        assert change_policy(session, site, {}, actor="ed@example.org", source="api") is None
    decided = post(database, site_id, "a stupid plan")
    assert decided.status == "approved"
    assert decided.decision["policy_version"] == 2 and decided.decision["model"] == "test:keyword"
    with database.session() as session:
        latest, first = policy_history(session, site_id)
        assert (latest.version, latest.actor, latest.source) == (2, "ed@example.org", "api")
        assert latest.why == "fewer holds for mild words"
        assert latest.diff == {"hold_thresholds.toxicity": {"from": 0.6, "to": 0.75}}
        assert first.source == "create" and first.version == 1
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "policy_change"))
        assert audit.after["policy_version"] == 2 and audit.note == "fewer holds for mild words"


def test_sites_keep_stored_thresholds_and_take_todays_defaults_only_where_none_stored(
    database,
) -> None:
    # A site created before the default stopped auto-rejecting plain toxicity stored that
    # default with the rest of its policy: it keeps rejecting until it chooses otherwise.
    earlier = new_site(database, thresholds=EARLIER_REJECT)
    today = new_site(database)
    with database.session() as session:
        assert session.get(Site, earlier).policy["thresholds"] == EARLIER_REJECT
        assert session.get(Site, today).policy["thresholds"] == DEFAULT_REJECT
    kept = post(database, earlier, "you idiot")
    assert kept.status == "rejected" and codes(kept) == ["toxic"]
    held = post(database, today, "you idiot")
    assert held.status == "held" and codes(held) == ["toxic"]
    assert held.decision["reasons"][0]["action"] == "hold"
    # Resetting the map moves the earlier site to today's defaults, as one audited version.
    change(database, earlier, thresholds={})
    with database.session() as session:
        latest = policy_history(session, earlier)[0]
    assert latest.diff == {
        f"thresholds.{label}": {"from": value, "to": DEFAULT_REJECT.get(label)}
        for label, value in EARLIER_REJECT.items()
        if DEFAULT_REJECT.get(label) != value
    }
    assert latest.diff["thresholds.insult"] == {"from": 0.92, "to": None}
    assert post(database, earlier, "you idiot again").status == "held"
    # A site row that stored no thresholds at all reads today's defaults.
    with database.session() as session:
        site = session.get(Site, today)
        site.policy = {k: v for k, v in site.policy.items() if k != "thresholds"}
    assert post(database, today, "you idiot, really").status == "held"


# --- per-article and per-section policy ----------------------------------------------------------


def test_section_and_article_overrides_and_closed_articles(database) -> None:
    site_id = new_site(
        database,
        sections={"politics": {"hold_thresholds": {"toxicity": 0.4}}},
        articles={"a-closed": {"closed": True}, "a-pre": {"mode": "pre"}},
    )
    politics = {"id": "a-pol", "section": "politics"}
    sport = {"id": "a-sport", "section": "sport"}
    assert post(database, site_id, "a silly idea", article=politics).status == "held"
    assert post(database, site_id, "a silly idea", article=sport).status == "approved"
    closed = post(database, site_id, "Thanks", article={"id": "a-closed"})
    assert closed.status == "rejected" and "article_closed" in codes(closed)
    pre = post(database, site_id, "Thanks", article={"id": "a-pre"})
    assert pre.status == "held" and "premoderation" in codes(pre)
    with database.session() as session:
        assert (
            session.scalar(select(Article.section).where(Article.external_id == "a-pol"))
            == "politics"
        )
        policy = Policy.from_dict(session.get(Site, site_id).policy)
    effective, origin = policy.effective("a-pol", "politics")
    assert effective.hold_thresholds["toxicity"] == 0.4
    assert origin == {"hold_thresholds.toxicity": "section:politics"}
    assert effective.thresholds == policy.thresholds  # inherited


def test_override_thresholds_are_validated(database) -> None:
    from civil.errors import InvalidInput

    site_id = new_site(database)
    with pytest.raises(InvalidInput) as caught:
        change(database, site_id, sections={"x": {"thresholds": {"toxicity": 3}}})
    assert caught.value.details["field"] == "sections.x.thresholds"
    with database.session() as session:
        assert session.get(Site, site_id).policy_version == 1


# --- automatic standing ----------------------------------------------------------------------------


def test_earned_trust_needs_approvals_and_no_rejection(database) -> None:
    # This site auto-rejects plain toxicity (the default only holds it).
    site_id = new_site(database, trust_after_approved=2, thresholds=REJECT_TOXIC)
    for _ in range(2):
        assert post(database, site_id, "Good point", author=author("ann")).status == "approved"
    trusted = post(database, site_id, "a stupid plan", author=author("ann"))
    assert trusted.status == "approved" and "author_earned_trust" in codes(trusted)
    # Bob has two approvals and a rejection: no trust.
    post(database, site_id, "Good point", author=author("bob"))
    post(database, site_id, "Good point", author=author("bob"))
    assert post(database, site_id, "you idiot", author=author("bob")).status == "rejected"
    held = post(database, site_id, "a stupid plan", author=author("bob"))
    assert held.status == "held" and "author_earned_trust" not in codes(held)


def test_new_authors_first_comments_and_rejection_rate(database) -> None:
    site_id = new_site(
        database, premoderate_first=2, rejection_rate_limit=0.5, thresholds=REJECT_TOXIC
    )
    first = post(database, site_id, "Hello", author=author("new"))
    assert first.status == "held" and "author_new" in codes(first)
    assert post(database, site_id, "Hello", author=author("new")).status == "held"
    assert post(database, site_id, "Hello", author=author("new")).status == "approved"
    for _ in range(2):
        post(database, site_id, "you idiot", author=author("troll"))
    post(database, site_id, "fine", author=author("troll"))  # held: new author
    rated = post(database, site_id, "fine again", author=author("troll"))
    assert rated.status == "held" and "author_rejection_rate" in codes(rated)
    [reason] = [r for r in rated.decision["reasons"] if r["code"] == "author_rejection_rate"]
    assert reason["decided"] == 2 or reason["rate"] >= 0.5


# --- burst guard -------------------------------------------------------------------------------------


def test_a_surge_premoderates_the_article_then_switches_back(database) -> None:
    site_id = new_site(database, surge_guard=True, surge_min_comments=4, surge_factor=3)
    article = {"id": "a-live"}
    statuses = [post(database, site_id, f"Nice {n}", article=article) for n in range(5)]
    assert [c.status for c in statuses[:3]] == ["approved"] * 3
    assert statuses[3].status == "held" and "article_surge" in codes(statuses[3])
    assert statuses[4].status == "held"
    with database.session() as session:
        art = session.scalar(select(Article).where(Article.external_id == "a-live"))
        assert art.surge_until is not None
        # An hour later: the burst is over and the cool-down has run out.
        hour = timedelta(hours=1, minutes=1)
        for row in session.scalars(select(Comment).where(Comment.article_id == art.id)):
            row.received_at = row.received_at - hour
        art.surge_until = art.surge_until - hour
    assert post(database, site_id, "Calm again", article=article).status == "approved"
    # Off by default: another site's burst is never guarded.
    other = new_site(database)
    burst = [post(database, other, f"Nice {n}", article={"id": "a-x"}) for n in range(5)]
    assert {c.status for c in burst} == {"approved"}


# --- shadow candidates -------------------------------------------------------------------------------


def test_shadow_candidate_records_beside_live_reports_and_promotes(database) -> None:
    site_id = new_site(database)
    with database.session() as session:
        candidate = shadow.attach_candidate(
            session,
            session.get(Site, site_id),
            policy_changes={"hold_thresholds": {"toxicity": 0.4}},
            model=None,
            actor="ed@example.org",
            why="try holding mild insults",
        )
    silly = post(database, site_id, "a silly idea")
    fine = post(database, site_id, "Thanks")
    assert silly.status == "approved"  # the live decision is untouched
    with database.session() as session:
        rows = session.scalars(select(ShadowDecision).order_by(ShadowDecision.id)).all()
        assert [(r.live_action, r.shadow_action) for r in rows] == [
            ("approve", "hold"),
            ("approve", "approve"),
        ]
        assert rows[0].candidate_id == candidate["id"]
        # One decided event per comment: the candidate sends nothing.
        assert session.scalar(select(func.count()).select_from(Event)) == 2
    act(database, me(database, site_id), silly.id, "reject", "offensive")
    with database.session() as session:
        report = shadow.shadow_report(
            session, session.get(Site, site_id), since=silly.received_at - timedelta(minutes=1)
        )
    assert (report["decisions"], report["changed"], report["unchanged"]) == (2, 1, {"approve": 1})
    [cell] = report["changes"]
    assert (cell["from"], cell["to"], cell["count"]) == ("approve", "hold", 1)
    assert cell["by_reason"] == {"toxic": 1} and cell["by_label"] == {"toxicity": 1}
    assert cell["moderators"] == {"candidate": 1}
    assert cell["samples"][0]["comment_id"] == silly.external_id
    assert fine.external_id not in str(report["changes"])
    with database.session() as session:
        promoted = shadow.promote_candidate(session, session.get(Site, site_id), actor="ed")
    assert promoted["diff"] == {"hold_thresholds.toxicity": {"from": 0.6, "to": 0.4}}
    with database.session() as session:
        site = session.get(Site, site_id)
        assert site.candidate is None and site.policy_version == promoted["policy_version"] == 2
        assert session.scalar(
            select(AuditEntry.action).where(AuditEntry.action == "candidate_promote")
        )
    assert post(database, site_id, "a silly idea").status == "held"


def test_a_candidate_model_scores_in_shadow(database) -> None:
    site_id = new_site(database)
    with database.session() as session:
        shadow.attach_candidate(
            session,
            session.get(Site, site_id),
            policy_changes=None,
            model="python:tests.support.scorers:StricterKeywordScorer",
            actor="ed",
        )
    comment = post(database, site_id, "a silly idea")
    assert comment.status == "approved" and comment.decision["model"] == "test:keyword"
    with database.session() as session:
        row = session.scalar(select(ShadowDecision))
    assert row.shadow_action == "hold" and row.decision["model"] == "test:keyword-strict"


def test_promoting_a_candidate_model_makes_it_the_sites_own(database) -> None:
    site_id, other = new_site(database), new_site(database)
    strict = "python:tests.support.scorers:StricterKeywordScorer"
    with database.session() as session:
        site = session.get(Site, site_id)
        shadow.attach_candidate(session, site, policy_changes=None, model=strict, actor="ed")
        promoted = shadow.promote_candidate(session, site, actor="ed")
    assert promoted["diff"] == {"toxicity_model": {"from": None, "to": strict}}
    # This site's comments are scored by the promoted model, the other site's by the live one.
    mine, theirs = post(database, site_id, "a silly idea"), post(database, other, "a silly idea")
    assert mine.status == "held" and mine.decision["model"] == "test:keyword-strict"
    assert theirs.status == "approved" and theirs.decision["model"] == "test:keyword"
    assert mine.decision["policy_version"] == promoted["policy_version"] == 2


def test_the_site_api_may_choose_only_a_shipped_model(database, tmp_path) -> None:
    from service import create_app

    site_id = new_site(database)
    with database.session() as session:
        key = rotate_key(session, site_id)
    url = database.engine.url.render_as_string(hide_password=False)
    app = create_app(make_settings(tmp_path, database_url=url))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    url = f"/v1/sites/{site_id}/policy"
    plugin = {"changes": {"toxicity_model": "python:os:system"}}
    refused = client.patch(url, json=plugin, headers=headers)
    assert refused.status_code == 422 and refused.json["error"] == "validation_failed"
    assert refused.json["details"]["field"] == "changes.toxicity_model"
    shipped = client.patch(url, json={"changes": {"toxicity_model": "linear"}}, headers=headers)
    assert shipped.status_code == 200 and shipped.json["policy"]["toxicity_model"] == "linear"
    app.extensions["civil"]["db"].engine.dispose()


# --- calibration ----------------------------------------------------------------------------------


def test_calibration_says_too_few_labels_then_proposes_and_applies(database) -> None:
    site_id = new_site(database)
    who = me(database, site_id)
    first = post(database, site_id, "you idiot")
    act(database, who, first.id, "reject", "offensive")
    with database.session() as session:
        report = calibration.calibrate(session, session.get(Site, site_id), 0.8)
    assert report["labels"]["toxicity"]["status"] == "insufficient_labels"
    assert "needs 30" in report["labels"]["toxicity"]["message"]
    # Moderators: every "stupid" (0.7) and "idiot" (0.97) comment is bad, "silly" (0.45) fine.
    texts = ["you idiot"] * 9 + ["a stupid plan"] * 12 + ["a silly idea"] * 12 + ["Thanks"] * 6
    for n, text in enumerate(texts):
        comment = post(database, site_id, f"{text} {n}")
        bad = "idiot" in text or "stupid" in text
        act(database, who, comment.id, "reject" if bad else "approve", "offensive" if bad else None)
    with database.session() as session:
        site = session.get(Site, site_id)
        report = calibration.calibrate(session, site, 0.8)
        tox = report["labels"]["toxicity"]
        assert tox["status"] == "ok" and tox["labels"] == 40 and tox["positive"] == 22
        point = {p["threshold"]: p for p in tox["curve"]}
        assert point[0.4]["precision"] == round(22 / 34, 4) and point[0.5]["flagged"] == 22
        # Lowest threshold with precision >= 0.8: just above the fine comments' 0.45.
        assert tox["proposed_hold_threshold"] == 0.46
        version = calibration.apply_proposal(session, site, report, actor="ed")
        assert version.source == "calibration"
        assert version.diff["hold_thresholds.toxicity"] == {"from": 0.6, "to": 0.46}
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 2


# --- re-scoring -----------------------------------------------------------------------------------


def test_rescore_dry_run_reports_then_applies_resumably_sparing_moderators(
    database, tmp_path
) -> None:
    site_id = new_site(database)
    silly = [post(database, site_id, f"a silly idea {n}") for n in range(3)]
    act(database, me(database, site_id), silly[0].id, "approve")
    change(database, site_id, hold_thresholds={"toxicity": 0.4})
    job = rescore.RescoreJob(site_id, dry_run=True, batch_size=1)
    state = tmp_path / "dry.json"
    result = rescore.rescore(database, job, KeywordScorer(), state_file=state)
    assert (result["processed"], result["skipped_moderated"], result["changed"]) == (3, 1, 2)
    [cell] = result["report"]["changes"]
    assert (cell["from"], cell["to"], cell["count"]) == ("approve", "hold", 2)
    with database.session() as session:
        assert {c.status for c in session.scalars(select(Comment))} == {"approved"}
    # A run stopped after its first batch resumes after it.
    real = rescore.RescoreJob(site_id, batch_size=1)
    path = tmp_path / "real.json"
    rescore.save_state(path, {**rescore.fresh_state(), "last_id": silly[1].id, "done": 2})
    done = rescore.rescore(database, real, KeywordScorer(), state_file=path)
    assert done["processed"] == 3 and done["changed"] == 1 and len(done["event_ids"]) == 1
    with database.session() as session:
        status = {c.id: c.status for c in session.scalars(select(Comment))}
    assert status == {silly[0].id: "approved", silly[1].id: "approved", silly[2].id: "held"}
