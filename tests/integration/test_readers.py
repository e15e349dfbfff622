"""Reports, appeals and the statement of reasons through the site API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import request_finished
from sqlalchemy import func, select

from civil.comments import submit_comment
from civil.db import Database
from civil.decision import pipeline
from civil.decision.policy import Policy, decide
from civil.errors import Conflict
from civil.models import Appeal, AuditEntry, Comment, Event, Feedback, Report
from civil.moderation import actions, appeals
from civil.moderation.accounts import by_token
from civil.moderation.reports import hold_reported, reporter_weight
from civil.schema import CommentIn
from civil.settings import Settings
from civil.sites import Credentials, create_site
from service import create_app
from tests.conftest import migrated
from tests.factories import comment_body
from tests.support.moderation import decided_comment, moderator
from tests.support.openapi_check import response_problem


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: Any, tmp_path: Path) -> Iterator[tuple[Settings, Database]]:
    """A migrated database of each kind (PostgreSQL: a fresh one from the pg_url fixture)."""
    settings, db = migrated(request, tmp_path / "var")
    yield settings, db
    db.engine.dispose()


@pytest.fixture
def db(backend: tuple[Settings, Database]) -> Database:
    return backend[1]


@pytest.fixture
def client(backend: tuple[Settings, Database]) -> Iterator[Any]:
    app = create_app(backend[0])
    problems: list[str] = []

    def check(sender: Any, response: Any, **extra: Any) -> None:
        from flask import request as current

        if response.mimetype == "application/json":
            problem = response_problem(
                current.method, current.path, response.status_code, response.get_json()
            )
            if problem:
                problems.append(problem)

    request_finished.connect(check, app)
    yield app.test_client()
    request_finished.disconnect(check, app)
    app.extensions["civil"]["db"].engine.dispose()
    assert not problems, "responses that break /openapi.json:\n" + "\n".join(problems)


# A site's own reject threshold for plain toxicity (the default policy only holds it): these
# tests need automatic rejections.
REJECT_TOXIC = {"toxicity": 0.92}


def new_site(db: Database, **policy: Any) -> Credentials:
    with db.session() as session:
        return create_site(
            session,
            name="Daily Planet",
            callback_url="http://127.0.0.1:9/hook",
            policy=policy or None,
            allow_private=True,
        )


def auth(site: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.api_key}"}


def external(db: Database, comment_id: int) -> str:
    with db.session() as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        return comment.external_id


def count(db: Database, model: Any, *where: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def report(client: Any, site: Credentials, cid: str, who: str, reason: str = "abusive") -> Any:
    return client.post(
        f"/v1/sites/{site.site_id}/comments/{cid}/reports",
        json={"reporter_id": who, "reason": reason, "note": f"{who} says no"},
        headers=auth(site),
    )


def events_of(db: Database, comment_id: int, kind: str) -> list[dict[str, Any]]:
    with db.session() as session:
        return [
            e.payload
            for e in session.scalars(
                select(Event)
                .where(Event.comment_id == comment_id, Event.type == kind)
                .order_by(Event.created_at)
            )
        ]


# --- reports ---------------------------------------------------------------------------------


def test_reports_count_distinct_readers_and_hold_at_the_threshold(client, db) -> None:
    site = new_site(db)
    comment_id = decided_comment(db, site.site_id)
    cid = external(db, comment_id)
    first = report(client, site, cid, "r-1")
    assert first.status_code == 202, first.json
    assert first.json["comment_id"] == cid and first.json["reports"] == 1
    again = report(client, site, cid, "r-1", reason="spam")
    assert again.status_code == 202 and again.json["reports"] == 1
    assert again.json["report_id"] == first.json["report_id"]
    assert report(client, site, cid, "r-2").json["reports"] == 2
    with db.session() as session:
        assert session.get(Comment, comment_id).status == "approved"
    third = report(client, site, cid, "r-3", reason="hate")
    assert third.json["reports"] == 3
    state = client.get(f"/v1/sites/{site.site_id}/comments/{cid}", headers=auth(site)).json
    assert state["status"] == "held"
    assert state["decision"]["decided_by"] == "reports"
    assert state["decision"]["reasons"][0]["code"] == "reported"
    decided = events_of(db, comment_id, "comment.decided")
    assert [e["data"]["decision"]["decided_by"] for e in decided] == ["auto", "reports"]
    assert decided[-1]["data"]["status"] == "held"
    with db.session() as session:
        [hold] = session.scalars(select(AuditEntry).where(AuditEntry.action == "report_hold"))
        assert (hold.actor, hold.before, hold.after) == (
            "reports",
            {"status": "approved", "decided_by": "auto"},
            {"status": "held", "reports": 3},
        )
    # A report is not a spam label: nothing was learnt from it.
    assert count(db, Feedback) == 0
    assert count(db, Report, Report.comment_id == comment_id) == 3


def test_report_errors_use_the_one_shape_and_store_nothing(client, db) -> None:
    site = new_site(db)
    other = new_site(db)
    cid = external(db, decided_comment(db, site.site_id))
    url = f"/v1/sites/{site.site_id}/comments/{cid}/reports"
    cases = [
        (client.post(url, json={"reporter_id": "r", "reason": "meh"}, headers=auth(site)), 422),
        (client.post(url, json={"reason": "spam"}, headers=auth(site)), 422),
        (client.post(url, json={"reporter_id": "", "reason": "spam"}, headers=auth(site)), 422),
        (client.post(url, json=["spam"], headers=auth(site)), 400),
        (client.post(url, data="reason=spam", headers=auth(site)), 415),
        (client.post(url, json={"reporter_id": "r", "reason": "spam"}), 401),
        (client.post(url, json={"reporter_id": "r", "reason": "spam"}, headers=auth(other)), 403),
        (
            client.post(
                f"/v1/sites/{site.site_id}/comments/nope/reports",
                json={"reporter_id": "r", "reason": "spam"},
                headers=auth(site),
            ),
            404,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.json)
        assert set(response.json) == {"error", "message", "details"}
    assert cases[0][0].json["details"]["errors"][0]["loc"] == ["reason"]
    assert count(db, Report) == 0


def test_overruled_reporters_count_less(client, db) -> None:
    site = new_site(db)
    _, token = moderator(db, "mod@example.org", [site.site_id])
    with db.session() as session:
        who = by_token(session, token)
    # r-cry reports two comments a moderator then approves: overruled twice.
    for n in range(2):
        comment_id = decided_comment(db, site.site_id)
        assert report(client, site, external(db, comment_id), "r-cry").status_code == 202
        with db.session() as session:
            actions.act(session, who, comment_id, "approve")
    with db.session() as session:
        assert reporter_weight(session, site.site_id, "r-cry") == 0.5
        assert reporter_weight(session, site.site_id, "r-new") == 1.0
        outcomes = session.scalars(select(Report.outcome).where(Report.reporter_id == "r-cry"))
        assert set(outcomes) == {"overruled"}
    # Three reporters, one of them worth half: 2.5 < 3, the comment stays up.
    target = decided_comment(db, site.site_id)
    cid = external(db, target)
    for who_id in ("r-cry", "r-a", "r-b"):
        assert report(client, site, cid, who_id).status_code == 202
    with db.session() as session:
        assert session.get(Comment, target).status == "approved"
    assert report(client, site, cid, "r-c").json["reports"] == 4
    with db.session() as session:
        assert session.get(Comment, target).status == "held"
        # The moderator rejects it: the four reports are upheld.
        actions.act(session, who, target, "reject", "abusive")
    with db.session() as session:
        assert reporter_weight(session, site.site_id, "r-cry") == 0.6  # (1+2)/(1+2+2)


def test_a_moderator_approval_settles_reports_and_they_start_over(client, db) -> None:
    site = new_site(db, report_hold_threshold=2)
    _, token = moderator(db, "mod@example.org", [site.site_id])
    comment_id = decided_comment(db, site.site_id)
    cid = external(db, comment_id)
    report(client, site, cid, "r-1")
    report(client, site, cid, "r-2")
    with db.session() as session:
        assert session.get(Comment, comment_id).status == "held"
        actions.act(session, by_token(session, token), comment_id, "approve")
    # Two new readers (weight 1): the settled reports no longer count, the new ones do.
    assert report(client, site, cid, "r-3").json["reports"] == 3
    with db.session() as session:
        assert session.get(Comment, comment_id).status == "approved"
    report(client, site, cid, "r-4")
    with db.session() as session:
        assert session.get(Comment, comment_id).status == "held"


# --- appeals and the statement of reasons ----------------------------------------------------


def test_rejections_carry_a_statement_of_reasons(client, db) -> None:
    site = new_site(db, thresholds=REJECT_TOXIC)
    cid = external(db, decided_comment(db, site.site_id, toxicity=0.99))
    state = client.get(f"/v1/sites/{site.site_id}/comments/{cid}", headers=auth(site)).json
    assert state["status"] == "rejected"
    statement = state["decision"]["statement"]
    assert statement["code"] == "toxic" and statement["automated"] is True
    assert "toxic" in statement["text"] and "appeal" in statement["redress"]
    approved = external(db, decided_comment(db, site.site_id))
    state = client.get(f"/v1/sites/{site.site_id}/comments/{approved}", headers=auth(site)).json
    assert "statement" not in state["decision"]


def test_appeal_overturned_reaches_the_site_and_is_a_label(client, db) -> None:
    site = new_site(db, thresholds=REJECT_TOXIC)
    _, token = moderator(db, "mod@example.org", [site.site_id])
    comment_id = decided_comment(db, site.site_id, toxicity=0.99)
    cid = external(db, comment_id)
    url = f"/v1/sites/{site.site_id}/comments/{cid}/appeals"
    filed = client.post(url, json={"note": "I was quoting the mayor"}, headers=auth(site))
    assert filed.status_code == 201, filed.json
    assert filed.json["status"] == "open" and filed.json["appeal_id"].startswith("apl_")
    second = client.post(url, json={}, headers=auth(site))
    assert second.status_code == 409 and second.json["error"] == "appeal_open"
    with db.session() as session:
        outcome = appeals.decide_appeal(
            session, by_token(session, token), filed.json["appeal_id"], "overturned", "fair point"
        )
    assert outcome.status == "approved"
    moderated = events_of(db, comment_id, "comment.moderated")
    assert moderated and moderated[-1]["data"]["status"] == "approved"
    answered = events_of(db, comment_id, "comment.appeal_decided")
    assert [e["data"]["appeal"] for e in answered] == [
        {"id": filed.json["appeal_id"], "outcome": "overturned", "note": "fair point"}
    ]
    with db.session() as session:
        labels = list(appeals.appeal_labels(session, site.site_id))
        assert [(x.comment_id, x.outcome, x.status_appealed) for x in labels] == [
            (comment_id, "overturned", "rejected")
        ]
        assert labels[0].decision["auto"]["action"] == "reject"
        assert session.get(Appeal, filed.json["appeal_id"]).status == "overturned"
    state = client.get(f"/v1/sites/{site.site_id}/comments/{cid}", headers=auth(site)).json
    assert state["status"] == "approved" and "statement" not in state["decision"]


def test_appeal_upheld_on_a_held_comment_rejects_it_with_a_statement(client, db) -> None:
    site = new_site(db)
    _, token = moderator(db, "mod@example.org", [site.site_id])
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    cid = external(db, comment_id)
    filed = client.post(
        f"/v1/sites/{site.site_id}/comments/{cid}/appeals", headers=auth(site)
    )  # no body: an appeal without a note
    assert filed.status_code == 201, filed.json
    with db.session() as session:
        outcome = appeals.decide_appeal(
            session, by_token(session, token), filed.json["appeal_id"], "upheld", None, "abusive"
        )
    assert outcome.status == "rejected"
    state = client.get(f"/v1/sites/{site.site_id}/comments/{cid}", headers=auth(site)).json
    assert state["decision"]["statement"]["code"] == "abusive"
    assert state["decision"]["statement"]["decided_by"] == "moderator"
    answered = events_of(db, comment_id, "comment.appeal_decided")
    assert answered[-1]["data"]["appeal"]["outcome"] == "upheld"
    with db.session() as session, pytest.raises(Conflict) as again:
        appeals.decide_appeal(
            session, by_token(session, token), filed.json["appeal_id"], "overturned"
        )
    assert again.value.code == "appeal_closed"


def test_appeal_errors_use_the_one_shape_and_store_nothing(client, db) -> None:
    site = new_site(db, thresholds=REJECT_TOXIC)
    other = new_site(db)
    approved = external(db, decided_comment(db, site.site_id))
    rejected = external(db, decided_comment(db, site.site_id, toxicity=0.99))
    base = f"/v1/sites/{site.site_id}/comments"
    cases = [
        (client.post(f"{base}/{approved}/appeals", json={}, headers=auth(site)), 409),
        (client.post(f"{base}/{rejected}/appeals", json={"note": 5}, headers=auth(site)), 422),
        (
            client.post(
                f"{base}/{rejected}/appeals", json={"note": "x" * 2001}, headers=auth(site)
            ),
            422,
        ),
        (client.post(f"{base}/{rejected}/appeals", data="note=hi", headers=auth(site)), 415),
        (client.post(f"{base}/{rejected}/appeals", json={}, headers=auth(other)), 403),
        (client.post(f"{base}/{rejected}/appeals", json={}), 401),
        (client.post(f"{base}/nope/appeals", json={}, headers=auth(site)), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.json)
        assert set(response.json) == {"error", "message", "details"}
    assert cases[0][0].json["error"] == "not_appealable"
    assert cases[0][0].json["details"]["status"] == "approved"
    assert count(db, Appeal) == 0


# --- retention, do_not_store, export ---------------------------------------------------------


def test_retention_deletes_old_decided_comments_in_batches_and_keeps_the_stats(db) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from civil.models import DailyStat, utcnow
    from civil.privacy.retention import apply_retention

    site = new_site(db, retention_days=30, thresholds=REJECT_TOXIC)
    forever = new_site(db)
    old = [decided_comment(db, site.site_id) for _ in range(5)]
    rejected = decided_comment(db, site.site_id, toxicity=0.99)
    held = decided_comment(db, site.site_id, toxicity=0.7)
    recent = decided_comment(db, site.site_id)
    untouched = decided_comment(db, forever.site_id)
    long_ago = utcnow() - timedelta(days=40)
    with db.session() as session:
        session.execute(
            update(Comment)
            .where(Comment.id.in_([*old, rejected, held, untouched]))
            .values(decided_at=long_ago)
        )
        # The recent comment's callback was delivered long ago: it goes, the comment stays.
        session.execute(
            update(Event)
            .where(Event.comment_id == recent)
            .values(status="delivered", created_at=long_ago)
        )
    assert apply_retention(db, batch=2) == {"comments": 6, "events": 1}
    with db.session() as session:
        left = set(session.scalars(select(Comment.id)))
        assert left == {held, recent, untouched}
        assert session.scalar(select(func.count()).where(Event.comment_id == recent)) == 0
        stats = {
            (s.status, s.decided_by): s.count
            for s in session.scalars(select(DailyStat).where(DailyStat.site_id == site.site_id))
        }
    assert stats == {("approved", "auto"): 5, ("rejected", "auto"): 1}
    assert apply_retention(db, batch=2) == {"comments": 0, "events": 0}


def test_do_not_store_keeps_only_the_decision(client, db) -> None:
    from civil.models import Author, SpamFingerprint

    site = new_site(db, thresholds=REJECT_TOXIC)
    comment_id = decided_comment(
        db,
        site.site_id,
        toxicity=0.99,
        do_not_store=True,
        author={"id": "u-p", "name": "Pat", "email": "pat@example.org", "ip": "192.0.2.1"},
    )
    with db.session() as session:
        comment = session.get(Comment, comment_id)
        assert (comment.content, comment.ip, comment.user_agent) == ("", None, None)
        author = session.get(Author, comment.author_id)
        assert (author.name, author.email) == (None, None) and author.external_id == "u-p"
        assert session.scalar(select(func.count()).select_from(SpamFingerprint)) == 0
        cid = comment.external_id
    state = client.get(f"/v1/sites/{site.site_id}/comments/{cid}", headers=auth(site)).json
    assert state["status"] == "rejected" and state["decision"]["statement"]["code"] == "toxic"
    [decided] = events_of(db, comment_id, "comment.decided")
    assert decided["data"]["decision"] == state["decision"]


def test_export_writes_comments_decisions_and_labels(client, db) -> None:
    from civil.privacy.export import export_site

    site = new_site(db)
    comment_id = decided_comment(db, site.site_id, content="Lovely park photos.")
    cid = external(db, comment_id)
    assert (
        client.post(
            f"/v1/sites/{site.site_id}/comments/{cid}/feedback",
            json={"label": "ham"},
            headers=auth(site),
        ).status_code
        == 200
    )
    report(client, site, cid, "r-1")
    other = new_site(db)
    decided_comment(db, other.site_id, content="Not this site's comment.")
    with db.session() as session:
        lines = list(export_site(session, site.site_id))
    comments = [x for x in lines if x["type"] == "comment"]
    assert [(c["id"], c["content"], c["status"]) for c in comments] == [
        (cid, "Lovely park photos.", "approved")
    ]
    assert comments[0]["decision"]["action"] == "approve"
    assert [(x["comment_id"], x["label"]) for x in lines if x["type"] == "label"] == [(cid, "ham")]
    assert [x["reason"] for x in lines if x["type"] == "report"] == ["abusive"]


def test_another_sites_moderator_neither_sees_nor_answers_appeals_and_reports(client, db) -> None:
    from civil.errors import NotFound
    from civil.moderation.reports import reported_view

    site = new_site(db)
    other = new_site(db)
    _, theirs = moderator(db, "other@example.org", [other.site_id])
    _, mine = moderator(db, "mine@example.org", [site.site_id])
    cid = external(db, decided_comment(db, site.site_id, toxicity=0.99))
    filed = client.post(
        f"/v1/sites/{site.site_id}/comments/{cid}/appeals", json={}, headers=auth(site)
    ).json
    report(client, site, external(db, decided_comment(db, site.site_id)), "r-1")
    with db.session() as session:
        stranger = by_token(session, theirs)
        assert appeals.appeals_view(session, stranger) == []
        assert reported_view(session, stranger) == []
        with pytest.raises(NotFound):
            appeals.decide_appeal(session, stranger, filed["appeal_id"], "overturned")
        owner = by_token(session, mine)
        assert [r["appeal"].id for r in appeals.appeals_view(session, owner)] == [
            filed["appeal_id"]
        ]
        assert [r["reports"] for r in reported_view(session, owner)] == [1]
    with db.session() as session:
        assert session.get(Appeal, filed["appeal_id"]).status == "open"


def test_reports_on_a_pending_comment_hold_it_once_it_is_approved(client, db) -> None:
    site = new_site(db)
    submitted = submit_comment(db, site.site_id, CommentIn.model_validate(comment_body()))
    cid = external(db, submitted.comment_id)
    for who in ("r-1", "r-2", "r-3"):
        assert report(client, site, cid, who).status_code == 202
    with db.session() as session:
        assert session.get(Comment, submitted.comment_id).status == "pending"
    assert hold_reported(db, [submitted.comment_id]) == []  # pending: nothing to hold yet
    approve = decide(Policy(), toxicity={"toxicity": 0.01}, spam=0.01, rule_hits=[], model="t")
    job = pipeline.Job(submitted.comment_id, submitted.revision, "", Policy(), [], 0.01)
    assert pipeline.record(db, job, approve) is not None
    events = hold_reported(db, [submitted.comment_id])
    assert len(events) == 1
    state = client.get(f"/v1/sites/{site.site_id}/comments/{cid}", headers=auth(site)).json
    assert state["status"] == "held" and state["decision"]["decided_by"] == "reports"
    decided = events_of(db, submitted.comment_id, "comment.decided")
    assert [e["data"]["decision"]["decided_by"] for e in decided] == ["auto", "reports"]
    assert hold_reported(db, [submitted.comment_id]) == []  # held already: no second event
