"""Facts about a comment the rules need: recent copies, per-author and per-IP rate, standing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

# Counts stop at COUNT_CAP: every rule needs far fewer (rate limits are a few a minute, the
# repeat rule one copy), and a flood of copies must not make each new copy read all earlier ones.
from civil.decision.rules import COUNT_CAP, RuleFacts
from civil.models import AuthorStanding, Comment


def gather_facts(session: Session, comment: Comment, repeat_window_minutes: int) -> RuleFacts:
    """Counts the rules need: identical recent posts, per-author and per-IP rate."""
    now = comment.received_at
    minute_ago = now - timedelta(minutes=1)

    def count(*where: Any) -> int:
        rows = (
            select(Comment.id)
            .where(Comment.site_id == comment.site_id, Comment.id != comment.id, *where)
            .limit(COUNT_CAP)
            .subquery()
        )
        return int(session.scalar(select(func.count()).select_from(rows)) or 0)

    window_start = now - timedelta(minutes=repeat_window_minutes)
    same = (
        count(Comment.content_hash == comment.content_hash, Comment.received_at >= window_start)
        if repeat_window_minutes
        else 0
    )
    by_author = (
        count(
            Comment.author_id == comment.author_id,
            Comment.received_at >= minute_ago,
            Comment.received_at <= now,
        )
        if comment.author_id
        else 0
    )
    by_ip = (
        count(
            Comment.ip == comment.ip, Comment.received_at >= minute_ago, Comment.received_at <= now
        )
        if comment.ip
        else 0
    )
    standing = (
        session.scalar(
            select(AuthorStanding.standing).where(AuthorStanding.author_id == comment.author_id)
        )
        if comment.author_id
        else None
    )
    return RuleFacts(
        same_text_recent=same,
        author_last_minute=by_author,
        ip_last_minute=by_ip,
        author_standing=standing,
    )
