"""The review queue, actions, audit, claims, bulk actions and author standing (SQLite)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DatabaseError

from civil.comments import submit_comment
from civil.db import Database
from civil.decision import tags
from civil.decision.facts import gather_facts
from civil.decision.policy import Policy, Reason, decide
from civil.decision.rules import evaluate_rules
from civil.errors import Conflict, InvalidInput, NotFound
from civil.models import AuditEntry, Comment, Event, Feedback, utcnow
from civil.moderation import actions, claims, queue, review
from civil.moderation.accounts import Identity
from civil.schema import CommentIn
from civil.sites import Credentials, create_site
from tests.factories import comment_body
from tests.support.moderation import decided_comment, moderator

ALICE = Identity(1, "alice@example.org", False, None)


def who(db: Database, site_ids: list[str], email: str = "alice@example.org") -> Identity:
    mod_id, _ = moderator(db, email, site_ids)
    return Identity(mod_id, email, False, frozenset(site_ids))


def test_reason_tags_group_codes_into_families() -> None:
    decision = {
        "reasons": [
            {"code": "toxic_insult", "action": "hold"},
            {"code": "spam_links", "action": "hold"},
            {"code": "banned_word", "action": "reject"},
            {"code": "quote_masked", "action": "approve"},
        ]
    }
    assert tags.reason_tags(decision) == ",links,toxic,words,"
    assert tags.reason_tags({"reasons": [{"code": "clean", "action": "approve"}]}) is None


def test_queue_pages_oldest_first_with_a_keyset_cursor(db: Database, site: Credentials) -> None:
    ids = [decided_comment(db, site.site_id, toxicity=0.7) for _ in range(7)]
    decided_comment(db, site.site_id, toxicity=0.01)  # approved: not in the held view
    me = who(db, [site.site_id])
    seen, cursor = [], None
    with db.session() as session:
        while True:
            rows, cursor = queue.queue_page(session, me, queue.QueueFilter(), cursor, limit=3)
            seen += [r.id for r in rows]
            if cursor is None:
                break
        assert seen == ids
        newest, _ = queue.queue_page(session, me, queue.QueueFilter(sort="newest"), None, 2)
        assert [r.id for r in newest] == ids[::-1][:2]
        assert queue.queue_count(session, me, queue.QueueFilter()) == 7


def test_filters_by_reason_ip_author_article_and_text(db: Database, site: Credentials) -> None:
    toxic = decided_comment(db, site.site_id, toxicity=0.7, content="You are all idiots here")
    spammy = decided_comment(
        db,
        site.site_id,
        spam=0.7,
        article={"id": "a-99", "url": "https://n.example/99", "title": "Other"},
        author={"id": "u-spam", "name": "S", "ip": "198.51.100.7"},
    )
    worded = decided_comment(
        db, site.site_id, hits=[Reason("suspect_word", "contains 'x'", "hold", {"word": "x"})]
    )
    me = who(db, [site.site_id])

    def ids(**kw: str) -> list[int]:
        flt = queue.QueueFilter.parse(kw)
        with db.session() as session:
            return [c.id for c in queue.queue_page(session, me, flt)[0]]

    assert ids(reason="toxic") == [toxic]
    assert ids(reason="spam") == [spammy]
    assert ids(reason="words") == [worded]
    assert ids(ip="198.51.100.7") == [spammy]
    assert ids(author="u-spam") == [spammy]
    assert ids(article="a-99") == [spammy]
    assert ids(q="IDIOTS") == [toxic]
    assert set(ids(reason="new_author")) == {toxic, spammy, worded}
    with db.session() as session:
        comment = session.get(Comment, spammy)
        assert comment is not None
        session.add(
            Feedback(
                site_id=site.site_id,
                comment_id=spammy,
                kind="spam",
                label="spam",
                source="site",
                text="",
            )
        )
    assert ids(reason="reported") == [spammy]
    with pytest.raises(InvalidInput):
        queue.QueueFilter.parse({"reason": "bogus"})
    with pytest.raises(InvalidInput):
        queue.QueueFilter.parse({"since": "yesterday"})


def test_a_moderator_sees_only_their_sites(db: Database, site: Credentials) -> None:
    with db.session() as session:
        other = create_site(session, name="Other", callback_url=None, allow_private=True)
    theirs = decided_comment(db, other.site_id, toxicity=0.7)
    mine = decided_comment(db, site.site_id, toxicity=0.7)
    me = who(db, [site.site_id])
    with db.session() as session:
        rows, _ = queue.queue_page(session, me, queue.QueueFilter())
        assert [r.id for r in rows] == [mine]
        with pytest.raises(NotFound):
            actions.act(session, me, theirs, "approve")
        admin = Identity(99, "root@example.org", True, None)
        assert queue.queue_count(session, admin, queue.QueueFilter()) == 2


def test_approve_records_audit_feedback_and_outbox_events(db: Database, site: Credentials) -> None:
    parent = decided_comment(db, site.site_id, id="p-1", author={"id": "u-p", "name": "Pat"})
    reply = decided_comment(db, site.site_id, toxicity=0.7, parent_id="p-1")
    me = who(db, [site.site_id])
    with db.session() as session:
        outcome = actions.act(session, me, reply, "approve", note="fine in context")
    assert (outcome.before, outcome.after) == ("held", "approved")
    with db.session() as session:
        comment = session.get(Comment, reply)
        assert comment is not None and comment.status == "approved"
        assert comment.decision["decided_by"] == "moderator"
        assert comment.decision["auto"]["action"] == "hold"
        events = {
            e.type: e for e in session.scalars(select(Event).where(Event.comment_id == reply))
        }
        assert set(events) == {"comment.decided", "comment.moderated", "comment.reply_approved"}
        assert events["comment.moderated"].payload["data"]["decision"]["decided_by"] == "moderator"
        assert events["comment.reply_approved"].payload["data"]["parent_author"]["name"] == "Pat"
        [entry] = session.scalars(select(AuditEntry))
        assert (entry.actor, entry.action, entry.note) == (me.email, "approve", "fine in context")
        assert entry.before["status"] == "held" and entry.after["status"] == "approved"
        labels = {(f.kind, f.label, f.value) for f in session.scalars(select(Feedback))}
        assert labels == {("spam", "ham", None), ("toxicity", "toxicity", 0.0)}
        assert parent != reply


@pytest.mark.parametrize(
    ("reason", "labels"),
    [
        ("offensive", {("toxicity", "toxicity", 1.0)}),
        ("abusive", {("toxicity", "toxicity", 1.0), ("toxicity", "insult", 1.0)}),
        ("spam", {("spam", "spam", None)}),
        ("off-topic", {("spam", "ham", None)}),
        ("other", {("moderation", "other", None)}),
    ],
)
def test_reject_reason_maps_to_a_feedback_label(
    db: Database, site: Credentials, reason: str, labels: set[tuple[str, str, float | None]]
) -> None:
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    me = who(db, [site.site_id])
    with db.session() as session:
        actions.act(session, me, comment_id, "reject", reason)
    with db.session() as session:
        got = {(f.kind, f.label, f.value) for f in session.scalars(select(Feedback))}
        assert got == labels
        assert session.get(Comment, comment_id).status == "rejected"  # type: ignore[union-attr]


def test_bad_actions_store_nothing(db: Database, site: Credentials) -> None:
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    me = who(db, [site.site_id])
    for action, reason in (("reject", None), ("reject", "rude"), ("explode", None)):
        with pytest.raises(InvalidInput), db.session() as session:
            actions.act(session, me, comment_id, action, reason)
    with db.session() as session:
        assert session.get(Comment, comment_id).status == "held"  # type: ignore[union-attr]
        assert session.scalar(select(AuditEntry.id)) is None
        assert session.scalar(select(Feedback.id)) is None


def test_a_claim_keeps_other_moderators_off(db: Database, site: Credentials) -> None:
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    alice = who(db, [site.site_id])
    bob = who(db, [site.site_id], "bob@example.org")
    with db.session() as session:
        claims.claim(session, alice, comment_id)
    with db.session() as session:
        with pytest.raises(Conflict) as refused:
            claims.claim(session, bob, comment_id)
        assert refused.value.details["claimed_by"] == "alice@example.org"
        with pytest.raises(Conflict):
            actions.act(session, bob, comment_id, "approve")
        view = review.item_view(session, session.get(Comment, comment_id))  # type: ignore[arg-type]
        assert view["claimed_by"] == "alice@example.org"
    with db.session() as session:
        # An expired claim is anybody's.
        session.execute(text("UPDATE review_claims SET expires_at = '2000-01-01 00:00:00'"))
    with db.session() as session:
        claims.claim(session, bob, comment_id)
        actions.act(session, bob, comment_id, "approve")


def test_action_on_a_comment_that_changed_meanwhile_is_a_conflict(
    db: Database, site: Credentials
) -> None:
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    me = who(db, [site.site_id])
    with db.session() as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        # Another writer moves the row after this session loaded it.
        with db.session() as other:
            other.execute(text(f"UPDATE comments SET revision = 9 WHERE id = {comment_id}"))
        with pytest.raises(Conflict):
            actions.act(session, me, comment_id, "approve")


def test_bulk_dry_run_counts_then_apply_acts_on_each(db: Database, site: Credentials) -> None:
    ip = {"id": "u-x", "name": "X", "ip": "192.0.2.50"}
    targets = [decided_comment(db, site.site_id, toxicity=0.7, author=ip) for _ in range(3)]
    keep = decided_comment(db, site.site_id, toxicity=0.7)
    me = who(db, [site.site_id])
    flt = queue.QueueFilter.parse({"ip": "192.0.2.50"})
    with db.session() as session:
        dry = actions.bulk(session, me, flt, "reject", "spam")
        assert (dry.matched, dry.applied) == (3, [])
        assert session.get(Comment, targets[0]).status == "held"  # type: ignore[union-attr]
    with db.session() as session, pytest.raises(Conflict):
        actions.bulk(session, me, flt, "reject", "spam", dry_run=False, expected=2)
    with db.session() as session:
        done = actions.bulk(session, me, flt, "reject", "spam", dry_run=False, expected=3)
    assert sorted(o.id for o in done.applied) == targets
    with db.session() as session:
        statuses = {c.id: c.status for c in session.scalars(select(Comment))}
        assert [statuses[t] for t in targets] == ["rejected"] * 3 and statuses[keep] == "held"
        entries = list(session.scalars(select(AuditEntry)))
        assert len(entries) == 3 and {e.bulk_id for e in entries} == {done.bulk_id}


def test_audit_log_is_append_only(db: Database, site: Credentials) -> None:
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    with db.session() as session:
        actions.act(session, who(db, [site.site_id]), comment_id, "approve")
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError), db.session() as session:
            session.execute(text(statement))


@pytest.mark.parametrize(
    ("standing", "toxicity", "expected"),
    [("trusted", 0.7, "approve"), ("premoderated", 0.01, "hold"), ("banned", 0.01, "reject")],
)
def test_author_standing_changes_later_automatic_decisions(
    db: Database, site: Credentials, standing: str, toxicity: float, expected: str
) -> None:
    action = {"trusted": "trust", "premoderated": "premoderate", "banned": "ban"}[standing]
    author = {"id": "u-s", "name": "Sam"}
    first = decided_comment(db, site.site_id, toxicity=0.7, author=author)
    with db.session() as session:
        actions.act(session, who(db, [site.site_id]), first, action)
    later = submit_comment(
        db, site.site_id, CommentIn.model_validate(comment_body(author=author))
    ).comment_id
    with db.session() as session:
        comment = session.get(Comment, later)
        assert comment is not None
        facts = gather_facts(session, comment, 10)
    assert facts.author_standing == standing
    hits = evaluate_rules(
        Policy(), content=comment.content, content_type="text/plain", honeypot=None, facts=facts
    )
    scores = {"toxicity": toxicity}
    assert decide(Policy(), toxicity=scores, spam=0.0, rule_hits=hits, model="t").action == expected


def test_trusted_author_still_rejected_at_reject_thresholds() -> None:
    hits = [Reason("author_trusted", "trusted", "approve")]
    decision = decide(Policy(), toxicity={"threat": 0.99}, spam=0.0, rule_hits=hits, model="t")
    assert decision.action == "reject"
    pre = decide(Policy(mode="pre"), toxicity={}, spam=0.0, rule_hits=hits, model="t")
    assert pre.action == "approve"


def test_recently_decided_view_is_newest_first(db: Database, site: Credentials) -> None:
    ids = [decided_comment(db, site.site_id, toxicity=0.7) for _ in range(3)]
    me = who(db, [site.site_id])
    for comment_id in ids:
        with db.session() as session:
            actions.act(session, me, comment_id, "approve")
    with db.session() as session:
        session.execute(
            text(f"UPDATE comments SET decided_at = '2020-01-01 00:00:00' WHERE id = {ids[1]}")
        )
    with db.session() as session:
        rows, _ = queue.queue_page(session, me, queue.QueueFilter(view="approved"))
        assert [r.id for r in rows] == [ids[2], ids[0], ids[1]]
        since = queue.QueueFilter(view="approved", since=utcnow() - timedelta(hours=1))
        assert queue.queue_count(session, me, since) == 3


def test_an_action_on_what_the_moderator_did_not_see_is_refused(
    db: Database, site: Credentials
) -> None:
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    alice = who(db, [site.site_id])
    bob = who(db, [site.site_id], "bob@example.org")
    with db.session() as session:
        actions.act(session, alice, comment_id, "approve", expect_status="held")
    with db.session() as session, pytest.raises(Conflict) as refused:
        actions.act(session, bob, comment_id, "reject", "other", expect_status="held")
    assert refused.value.code == "changed"


def test_bulk_apply_counts_again_and_leaves_newly_decided_alone(
    db: Database, site: Credentials
) -> None:
    ids = [decided_comment(db, site.site_id, toxicity=0.7) for _ in range(3)]
    me = who(db, [site.site_id])
    flt = queue.QueueFilter()
    with db.session() as session:
        matched = actions.bulk(session, me, flt, "approve").matched
        # Another moderator rejects one after the count, inside this transaction's view.
        with db.session() as other:
            other.execute(text(f"UPDATE comments SET status = 'rejected' WHERE id = {ids[1]}"))
        done = actions.bulk(session, me, flt, "approve", dry_run=False, expected=matched - 1)
    assert sorted(o.id for o in done.applied) == [ids[0], ids[2]]
    with db.session() as session:
        assert session.get(Comment, ids[1]).status == "rejected"  # type: ignore[union-attr]


def test_bulk_apply_never_acts_on_more_than_it_counted(db: Database, site: Credentials) -> None:
    # A comment arriving between the count and the listing of ids (read committed sees it)
    # must not ride along: the moderator confirmed a number, and MAX_BULK caps the work.
    ids = [decided_comment(db, site.site_id, toxicity=0.7) for _ in range(3)]
    me = who(db, [site.site_id])
    late: list[int] = []

    def arrive(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if (
            not late
            and statement.lstrip().startswith("SELECT comments.id")
            and "ORDER BY" in statement
        ):
            late.append(0)
            late[0] = decided_comment(db, site.site_id, toxicity=0.7)

    event.listen(db.engine, "before_cursor_execute", arrive)
    try:
        with db.session() as session:
            done = actions.bulk(
                session, me, queue.QueueFilter(), "approve", dry_run=False, expected=3
            )
    finally:
        event.remove(db.engine, "before_cursor_execute", arrive)
    assert late and sorted(o.id for o in done.applied) == ids
    with db.session() as session:
        assert session.get(Comment, late[0]).status == "held"  # type: ignore[union-attr]
