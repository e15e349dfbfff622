"""Facts about a comment the rules need: recent copies, per-author and per-IP rate, standing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, literal, null, select
from sqlalchemy.orm import Session

# Counts stop at COUNT_CAP: every rule needs far fewer (rate limits are a few a minute, the
# repeat rule one copy), and a flood of copies must not make each new copy read all earlier ones.
from civil.decision.rules import COUNT_CAP, RuleFacts
from civil.models import AuthorStanding, Comment


def gather_facts(session: Session, comment: Comment, repeat_window_minutes: int) -> RuleFacts:
    """Counts the rules need: identical recent posts, per-author and per-IP rate.

    One statement: each count is a capped scalar subquery (a round trip and a statement's
    overhead each would cost more than the index reads themselves).
    """
    now = comment.received_at
    minute_ago = now - timedelta(minutes=1)

    def count(*where: Any) -> Any:
        rows = (
            select(Comment.id)
            .where(Comment.site_id == comment.site_id, Comment.id != comment.id, *where)
            .limit(COUNT_CAP)
            .subquery()
        )
        return select(func.count()).select_from(rows).scalar_subquery()

    nothing = literal(0)
    window_start = now - timedelta(minutes=repeat_window_minutes)
    same = (
        count(Comment.content_hash == comment.content_hash, Comment.received_at >= window_start)
        if repeat_window_minutes
        else nothing
    )
    by_author = (
        count(
            Comment.author_id == comment.author_id,
            Comment.received_at >= minute_ago,
            Comment.received_at <= now,
        )
        if comment.author_id
        else nothing
    )
    by_ip = (
        count(
            Comment.ip == comment.ip, Comment.received_at >= minute_ago, Comment.received_at <= now
        )
        if comment.ip
        else nothing
    )
    standing = (
        select(AuthorStanding.standing)
        .where(AuthorStanding.author_id == comment.author_id)
        .scalar_subquery()
        if comment.author_id
        else null()
    )
    row = session.execute(select(same, by_author, by_ip, standing)).one()
    return RuleFacts(
        same_text_recent=int(row[0] or 0),
        author_last_minute=int(row[1] or 0),
        ip_last_minute=int(row[2] or 0),
        author_standing=row[3],
    )
