"""Per-site retention: decided comments and callbacks older than ``retention_days`` go.

Run by the beat schedule (``civil.apply_retention``) in batches, each its own transaction, so
a long backlog never holds one big lock. Before a comment is deleted its decision is counted
into ``daily_stats`` (site, day, status, decided_by): the aggregate statistics survive. Labels
a site or moderator gave (``feedback``) are training data and stay.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civil.db import Database
from civil.models import Comment, DailyStat, DeliveryAttempt, Event, Site, utcnow

log = logging.getLogger(__name__)
DECIDED = ("approved", "rejected")
FINISHED_EVENTS = ("delivered", "dead")


def retention_days(site: Site) -> int | None:
    # Read off the stored policy, not through civil.decision (which imports this package's
    # do_not_store scrub); PolicyIn validated it on the way in.
    days = (site.policy or {}).get("retention_days")
    return int(days) if days else None


def _roll_up(
    session: Session, site_id: str, rows: list[tuple[str, datetime, dict[str, Any] | None]]
) -> None:
    tally = Counter(
        (decided_at.date().isoformat(), status, (decision or {}).get("decided_by") or "auto")
        for status, decided_at, decision in rows
    )
    for (day, status, decided_by), n in tally.items():
        stat = session.get(DailyStat, (site_id, day, status, decided_by))
        if stat is None:
            stat = DailyStat(
                site_id=site_id, day=day, status=status, decided_by=decided_by, count=0
            )
            session.add(stat)
        stat.count += n


def _comment_batch(db: Database, site_id: str, cutoff: datetime, batch: int) -> int:
    with db.session() as session:
        rows = session.execute(
            select(Comment.id, Comment.status, Comment.decided_at, Comment.decision)
            .where(
                Comment.site_id == site_id,
                Comment.status.in_(DECIDED),
                Comment.decided_at < cutoff,
            )
            .order_by(Comment.decided_at)
            .limit(batch)
        ).all()
        if not rows:
            return 0
        ids = [r.id for r in rows]
        _roll_up(session, site_id, [(r.status, r.decided_at, r.decision) for r in rows])
        events = select(Event.id).where(Event.comment_id.in_(ids))
        session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.event_id.in_(events)))
        session.execute(delete(Event).where(Event.comment_id.in_(ids)))
        session.execute(delete(Comment).where(Comment.id.in_(ids)))
        return len(ids)


def _event_batch(db: Database, site_id: str, cutoff: datetime, batch: int) -> int:
    with db.session() as session:
        ids = list(
            session.scalars(
                select(Event.id)
                .where(
                    Event.site_id == site_id,
                    Event.status.in_(FINISHED_EVENTS),
                    Event.created_at < cutoff,
                )
                .limit(batch)
            )
        )
        if ids:
            session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.event_id.in_(ids)))
            session.execute(delete(Event).where(Event.id.in_(ids)))
        return len(ids)


def _drain(step: Callable[..., int], *args: object, max_batches: int) -> int:
    total = 0
    for _ in range(max_batches):
        done = step(*args)
        total += done
        if not done:
            break
    return total


def apply_retention(
    db: Database, *, batch: int = 500, max_batches: int = 20, now: datetime | None = None
) -> dict[str, int]:
    """Delete what each site's retention_days allows; counts of deleted comments and events.

    At most ``max_batches`` batches of each kind per site per run: the next run goes on.
    """
    now = now or utcnow()
    with db.session() as session:
        sites = [(s.id, retention_days(s)) for s in session.scalars(select(Site))]
    totals = {"comments": 0, "events": 0}
    for site_id, days in sites:
        if not days:
            continue
        cutoff = now - timedelta(days=days)
        comments = _drain(_comment_batch, db, site_id, cutoff, batch, max_batches=max_batches)
        events = _drain(_event_batch, db, site_id, cutoff, batch, max_batches=max_batches)
        if comments or events:
            log.info(
                "retention deleted",
                extra={"site_id": site_id, "comments": comments, "events": events, "days": days},
            )
        totals["comments"] += comments
        totals["events"] += events
    return totals
