"""Facts about a comment the rules need: recent copies, per-author and per-IP rate, standing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, null, select
from sqlalchemy.orm import Session

# Counts stop at COUNT_CAP: every rule needs far fewer (rate limits are a few a minute, the
# repeat rule one copy), and a flood of copies must not make each new copy read all earlier ones.
from civil.decision.policy import Policy
from civil.decision.rules import COUNT_CAP, RuleFacts
from civil.models import AuthorStanding, Comment


def gather_facts(
    session: Session,
    comment: Comment,
    repeat_window_minutes: int,
    policy: Policy | None = None,
    *,
    store: bool = True,
) -> RuleFacts:
    """Counts the rules need: identical recent posts, per-author and per-IP rate.

    With a ``policy``, also what its standing and burst-guard rules read (only the counts
    a rule that is switched on needs). The base counts are one statement: each is a capped
    scalar subquery (a round trip and a statement's overhead each would cost more than the
    index reads themselves).
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
    facts = RuleFacts(
        same_text_recent=int(row[0] or 0),
        author_last_minute=int(row[1] or 0),
        ip_last_minute=int(row[2] or 0),
        author_standing=row[3],
    )
    if policy is None:
        return facts
    return replace(
        facts,
        **author_record(session, comment, policy),
        article_surge_until=surge_until(session, comment, policy, store=store),
    )


def _capped_count(session: Session, stmt: Any, cap: int) -> int:
    rows = stmt.limit(cap).subquery()
    return int(session.scalar(select(func.count()).select_from(rows)) or 0)


def author_record(session: Session, comment: Comment, policy: Policy) -> dict[str, Any]:
    """The author's track record on this site, as far as the standing rules switched on need."""
    out: dict[str, Any] = {}
    if comment.author_id is None:
        return out
    # Earlier comments only: a backlog decided out of order must not count later ones.
    earlier = select(Comment.id).where(
        Comment.author_id == comment.author_id, Comment.id < comment.id
    )
    if policy.trust_after_approved:
        out["author_approved"] = _capped_count(
            session, earlier.where(Comment.status == "approved"), policy.trust_after_approved
        )
        out["author_rejected"] = _capped_count(
            session, earlier.where(Comment.status == "rejected"), 1
        )
    if policy.premoderate_first:
        out["author_earlier"] = _capped_count(session, earlier, policy.premoderate_first)
    if policy.rejection_rate_limit is not None:
        recent = session.scalars(
            select(Comment.status)
            .where(
                Comment.author_id == comment.author_id,
                Comment.id < comment.id,
                Comment.status.in_(("approved", "rejected")),
            )
            .order_by(Comment.decided_at.desc(), Comment.id.desc())
            .limit(policy.rejection_rate_window)
        ).all()
        out["author_recent_decided"] = len(recent)
        out["author_recent_rejected"] = sum(1 for status in recent if status == "rejected")
    return out


def surge_until(
    session: Session, comment: Comment, policy: Policy, *, store: bool = True
) -> datetime | None:
    """When the burst guard's pre-moderation of this comment's article ends (None: no surge).

    A surge is at least ``surge_min_comments`` in the last ``surge_window_minutes`` and
    ``surge_factor`` times the article's usual rate for such a window (its comments over the
    previous ``surge_baseline_hours``, or its life if shorter). A new surge is stored on the
    article, so the guard stays on for the cool-down and then switches back by itself.
    """
    article = comment.article
    if not policy.surge_guard or article is None:
        return None
    now = comment.received_at
    if article.surge_until is not None and article.surge_until > now:
        return article.surge_until
    window = timedelta(minutes=policy.surge_window_minutes)
    on_article = select(Comment.id).where(
        Comment.article_id == article.id, Comment.received_at <= now
    )
    recent = _capped_count(session, on_article.where(Comment.received_at > now - window), 100_000)
    if recent < policy.surge_min_comments:
        return None
    start = now - timedelta(hours=policy.surge_baseline_hours)
    first = session.scalar(
        select(func.min(Comment.received_at)).where(
            Comment.article_id == article.id, Comment.received_at > start
        )
    )
    before = now - window
    baseline_span = (before - max(start, first or before)).total_seconds()
    earlier = _capped_count(
        session,
        on_article.where(Comment.received_at > start, Comment.received_at <= before),
        1_000_000,
    )
    # The usual count for one window; at least one comment, so a quiet article's first
    # comments are not a surge unless they reach surge_min_comments.
    usual = earlier * window.total_seconds() / baseline_span if baseline_span > 0 else 0.0
    if recent < policy.surge_factor * max(usual, 1.0):
        return None
    until = now + timedelta(minutes=policy.surge_cooldown_minutes)
    if store:  # a shadow candidate or a dry run looks, and never switches the article
        article.surge_until = until
    return until
