"""Labels from the people who know: sites, moderators and the compatible APIs.

Every label is one row in `feedback`, scoped to its site. Spam scoring reads a site's own
rows only, so one site's labels never change another site's decisions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.comments import find_comment
from civil.db import Database
from civil.models import Comment, Feedback
from civil.schema import FeedbackOut
from civil.spam.service import learn_label

SPAM_LABELS = ("spam", "ham")
SOURCES = ("site", "moderator", "akismet", "perspective")


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")


def _check_spam(label: str, source: str) -> None:
    if label not in SPAM_LABELS:
        raise ValueError(f"spam label must be one of {SPAM_LABELS}, not {label!r}")
    _check_source(source)


def record_spam_label(
    session: Session, comment: Comment, label: str, source: str, actor: str | None = None
) -> Feedback:
    """Store a spam/ham label for a stored comment and learn from it (the caller commits)."""
    _check_spam(label, source)
    # Labels of one comment take turns: two at once would each move the counts from the same
    # previous label (PostgreSQL row lock; SQLite serialises writers anyway).
    session.execute(select(Comment.id).where(Comment.id == comment.id).with_for_update())
    previous = session.scalar(
        select(Feedback)
        .where(Feedback.comment_id == comment.id, Feedback.kind == "spam")
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .limit(1)
    )
    author = comment.author
    row = record_spam_text_label(
        session,
        comment.site_id,
        comment.content,
        label,
        source,
        author_email=author.email if author else None,
        author_url=author.url if author else None,
        ip=comment.ip,
        actor=actor,
        comment_id=comment.id,
    )
    # Learning happens here, in the label's transaction, so every caller (moderators, the
    # feedback endpoint, the Akismet API) teaches the site's reputation and near-duplicate
    # index at once, and the label and what was learnt from it commit or roll back together.
    learn_label(session, comment, label, previous)
    return row


def record_spam_text_label(
    session: Session,
    site_id: str,
    text: str,
    label: str,
    source: str,
    *,
    author_email: str | None = None,
    author_url: str | None = None,
    ip: str | None = None,
    actor: str | None = None,
    comment_id: int | None = None,
) -> Feedback:
    """Store a spam/ham label for a text (the caller commits); nothing is learnt here.

    Akismet's submit-spam/submit-ham may report a comment that never went through
    comment-check here; the label still teaches the site's spam model when it is retrained.
    `record_spam_label` uses it for stored comments, then learns from the label.
    """
    _check_spam(label, source)
    row = Feedback(
        site_id=site_id,
        comment_id=comment_id,
        kind="spam",
        label=label,
        source=source,
        actor=actor,
        text=text,
        author_email=author_email,
        author_url=author_url,
        ip=ip,
    )
    session.add(row)
    return row


def record_toxicity_label(
    session: Session,
    site_id: str,
    text: str,
    label: str,
    value: float,
    source: str,
    comment_id: int | None = None,
    actor: str | None = None,
) -> Feedback:
    """Store a corrected toxicity score (0..1) for one label of a text (the caller commits)."""
    if not 0.0 <= value <= 1.0:
        raise ValueError("value must be between 0 and 1")
    _check_source(source)
    row = Feedback(
        site_id=site_id,
        comment_id=comment_id,
        kind="toxicity",
        label=label,
        value=value,
        source=source,
        actor=actor,
        text=text,
    )
    session.add(row)
    return row


def record_moderation_label(
    session: Session, comment: Comment, label: str, actor: str | None = None
) -> Feedback:
    """Store a moderator's judgement that is neither spam nor toxicity (the caller commits)."""
    author = comment.author
    row = Feedback(
        site_id=comment.site_id,
        comment_id=comment.id,
        kind="moderation",
        label=label[:40],
        source="moderator",
        actor=actor,
        text=comment.content,
        author_email=author.email if author else None,
        author_url=author.url if author else None,
        ip=comment.ip,
    )
    session.add(row)
    return row


def site_labels(session: Session, site_id: str, kind: str = "spam") -> list[Feedback]:
    """A site's labels of one kind, oldest first (the newest label for a comment wins)."""
    query = (
        select(Feedback)
        .where(Feedback.site_id == site_id, Feedback.kind == kind)
        .order_by(Feedback.created_at, Feedback.id)
    )
    return list(session.scalars(query))


def label_comment(
    db: Database, site_id: str, external_id: str, label: str, source: str = "site"
) -> dict[str, Any]:
    """Label a site's comment by its external id in one transaction; the JSON answer."""
    with db.session() as session:
        comment = find_comment(session, site_id, external_id)
        row = record_spam_label(session, comment, label, source, actor=f"{source}:{site_id}")
        session.flush()
        return FeedbackOut(
            id=external_id,
            label=row.label,  # type: ignore[arg-type]
            source=row.source,
            feedback_id=row.id,
            recorded_at=row.created_at,
        ).wire()
