"""The labels a site's own people gave its comments, read as one stream per site.

Each source is one function yielding ``Label`` rows for a site; calibration and the shadow
report read ``site_labels``, which chains them. A new source (overturned appeals, say) is one
more function in ``LABEL_SOURCES``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.models import Comment, Feedback
from civil.scoring import TOXICITY_LABELS

# What calibration measures: the six toxicity labels and spam.
CALIBRATED = (*TOXICITY_LABELS, "spam")


@dataclass(frozen=True)
class Label:
    """One person's verdict on one stored comment for one label."""

    comment_id: int
    label: str  # a toxicity label or "spam"
    positive: bool
    source: str
    feedback_id: int


def moderator_labels(session: Session, site_id: str) -> Iterator[Label]:
    """Moderators' actions and the site's spam/ham calls on stored comments.

    An approval (toxicity 0) clears every toxicity label, not only `toxicity`: the moderator
    judged the comment fine as a whole. A reject for abuse marks `toxicity` and `insult`.
    """
    rows = session.scalars(
        select(Feedback)
        .where(
            Feedback.site_id == site_id,
            Feedback.comment_id.is_not(None),
            Feedback.kind.in_(("toxicity", "spam")),
            Feedback.source.in_(("moderator", "site")),
        )
        .order_by(Feedback.id)
    )
    for row in rows:
        assert row.comment_id is not None
        if row.kind == "spam":
            yield Label(row.comment_id, "spam", row.label == "spam", row.source, row.id)
        elif row.value is not None and row.value < 0.5 and row.label == "toxicity":
            for label in TOXICITY_LABELS:
                yield Label(row.comment_id, label, False, row.source, row.id)
        elif row.value is not None:
            yield Label(row.comment_id, row.label, row.value >= 0.5, row.source, row.id)


def _plain_hash(text: str) -> str:
    # civil.schema.CommentIn.content_hash of a plain-text comment without an inline quote.
    return hashlib.sha256("\x1f".join([text, "text/plain", ""]).encode()).hexdigest()


def suggestscore_labels(session: Session, site_id: str) -> Iterator[Label]:
    """Perspective `suggestscore` corrections, matched to the site's stored comment of that text."""
    rows = session.scalars(
        select(Feedback)
        .where(
            Feedback.site_id == site_id,
            Feedback.kind == "toxicity",
            Feedback.source == "perspective",
        )
        .order_by(Feedback.id)
    )
    for row in rows:
        comment_id = row.comment_id or session.scalar(
            select(Comment.id)
            .where(Comment.site_id == site_id, Comment.content_hash == _plain_hash(row.text))
            .order_by(Comment.id.desc())
            .limit(1)
        )
        if comment_id is not None and row.value is not None and row.label in TOXICITY_LABELS:
            yield Label(comment_id, row.label, row.value >= 0.5, "perspective", row.id)


LabelSource = Callable[[Session, str], Iterator[Label]]
LABEL_SOURCES: tuple[LabelSource, ...] = (moderator_labels, suggestscore_labels)


def site_labels(session: Session, site_id: str) -> dict[tuple[int, str], Label]:
    """Every label of the site, the newest per (comment, label): a changed mind wins."""
    latest: dict[tuple[int, str], Label] = {}
    labels = [label for source in LABEL_SOURCES for label in source(session, site_id)]
    for label in sorted(labels, key=lambda item: item.feedback_id):
        latest[(label.comment_id, label.label)] = label
    return latest
