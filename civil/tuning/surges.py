"""Articles the burst guard has switched to pre-moderation (what the ops page lists)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.models import Article, Site, utcnow
from civil.schema import rfc3339


def surging_articles(
    session: Session, site_ids: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Articles pre-moderated by the burst guard now, soonest to switch back first."""
    stmt = (
        select(Article, Site.name)
        .join(Site, Site.id == Article.site_id)
        .where(Article.surge_until > utcnow())
        .order_by(Article.surge_until)
    )
    if site_ids is not None:
        stmt = stmt.where(Article.site_id.in_(sorted(site_ids)))
    return [
        {
            "site_id": article.site_id,
            "site_name": name,
            "article_id": article.external_id,
            "title": article.title,
            "until": rfc3339(article.surge_until),
        }
        for article, name in session.execute(stmt)
        if article.surge_until is not None
    ]
