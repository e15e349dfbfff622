"""A site's comments, decisions and labels as JSON Lines (for a site leaving, or its analysis)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.errors import NotFound
from civil.models import Appeal, Comment, DailyStat, Feedback, Report, Site
from civil.schema import rfc3339


def _when(moment: Any) -> str | None:
    return rfc3339(moment) if moment is not None else None


def _comment(comment: Comment) -> dict[str, Any]:
    author = comment.author
    return {
        "type": "comment",
        "id": comment.external_id,
        "article_id": comment.article.external_id if comment.article else None,
        "parent_id": comment.parent_external_id,
        "author": {"id": author.external_id, "name": author.name, "email": author.email}
        if author
        else None,
        "content": comment.content,
        "content_type": comment.content_type,
        "received_at": _when(comment.received_at),
        "revision": comment.revision,
        "status": comment.status,
        "decision": comment.decision,
        "decided_at": _when(comment.decided_at),
    }


def export_site(session: Session, site_id: str, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every line of the export: comments, labels, reports, appeals, then daily statistics."""
    if session.get(Site, site_id) is None:
        raise NotFound("no such site", {"site_id": site_id})
    externals: dict[int, str] = {}
    for comment in session.scalars(
        select(Comment).where(Comment.site_id == site_id).order_by(Comment.id)
    ).yield_per(batch):
        externals[comment.id] = comment.external_id
        yield _comment(comment)
    for label in session.scalars(
        select(Feedback).where(Feedback.site_id == site_id).order_by(Feedback.id)
    ).yield_per(batch):
        yield {
            "type": "label",
            "comment_id": externals.get(label.comment_id) if label.comment_id else None,
            "kind": label.kind,
            "label": label.label,
            "value": label.value,
            "source": label.source,
            "created_at": _when(label.created_at),
        }
    for report in session.scalars(
        select(Report).where(Report.site_id == site_id).order_by(Report.created_at)
    ):
        yield {
            "type": "report",
            "id": report.id,
            "comment_id": externals.get(report.comment_id),
            "reporter_id": report.reporter_id,
            "reason": report.reason,
            "outcome": report.outcome,
            "created_at": _when(report.created_at),
        }
    for appeal in session.scalars(
        select(Appeal).where(Appeal.site_id == site_id).order_by(Appeal.created_at)
    ):
        yield {
            "type": "appeal",
            "id": appeal.id,
            "comment_id": externals.get(appeal.comment_id),
            "status": appeal.status,
            "created_at": _when(appeal.created_at),
            "decided_at": _when(appeal.decided_at),
        }
    for stat in session.scalars(
        select(DailyStat).where(DailyStat.site_id == site_id).order_by(DailyStat.day)
    ):
        yield {
            "type": "stat",
            "day": stat.day,
            "status": stat.status,
            "decided_by": stat.decided_by,
            "count": stat.count,
        }
