"""The sweeper re-queues only comments whose message is lost, never a backlog's waiting ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from civil.comments import stranded_comments, submit_comment
from civil.db import Database
from civil.models import Comment, utcnow
from civil.schema import CommentIn
from tests.factories import comment_body


def _pending(db: Database, site_id: str, n: int) -> list[int]:
    """n pending comments queued 10, 9, … minutes ago (oldest first)."""
    ids = []
    now = utcnow()
    for i in range(n):
        sub = submit_comment(db, site_id, CommentIn.model_validate(comment_body()))
        with db.session() as session:
            session.execute(
                update(Comment)
                .where(Comment.id == sub.comment_id)
                .values(enqueued_at=now - timedelta(minutes=10 - i))
            )
        ids.append(sub.comment_id)
    return ids


def _stranded(db: Database, queued: int) -> list[int]:
    with db.session() as session:
        return [cid for cid, _ in stranded_comments(session, utcnow(), queued=queued)]


def test_without_a_queue_count_every_old_pending_comment_is_stranded(db: Database, site) -> None:
    ids = _pending(db, site.site_id, 5)
    assert _stranded(db, 0) == ids


def test_the_newest_queued_comments_are_taken_to_be_the_queues_messages(db: Database, site) -> None:
    ids = _pending(db, site.site_id, 5)
    # Two messages in the queue: the two newest comments still have theirs.
    assert _stranded(db, 2) == ids[:3]
    assert _stranded(db, 5) == []
    assert _stranded(db, 50) == []  # more messages than pending comments: none is lost


def test_leased_and_decided_comments_are_neither_stranded_nor_counted(db: Database, site) -> None:
    ids = _pending(db, site.site_id, 5)
    with db.session() as session:
        session.execute(
            update(Comment)
            .where(Comment.id == ids[4])
            .values(claimed_until=utcnow() + timedelta(minutes=1))
        )
        session.execute(update(Comment).where(Comment.id == ids[3]).values(status="approved"))
    # One message queued: it belongs to the newest free pending comment (ids[2]).
    assert _stranded(db, 1) == ids[:2]
    assert _stranded(db, 0) == ids[:3]
