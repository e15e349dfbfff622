"""What the ops view shows: workers, queues, last hour's throughput and latency, deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from civil.db import Database
from civil.delivery.events import event_view, list_events
from civil.models import Comment, Site, WorkerHeartbeat, utcnow
from civil.ops.health import QueueReader, queue_depths
from civil.settings import Settings

LATENCY_SAMPLE = 5000


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def workers(db: Database, settings: Settings) -> list[dict[str, Any]]:
    """Every worker row, live or stale, newest heartbeat first."""
    stale_after = timedelta(seconds=settings.worker_stale_seconds)
    now = utcnow()
    with db.session() as session:
        rows = session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.seen_at.desc()))
        return [
            {
                "name": r.hostname,
                "queues": r.queues,
                "seen_at": r.seen_at,
                "age_s": round((now - r.seen_at).total_seconds(), 1),
                "live": now - r.seen_at <= stale_after,
                "model": ((r.models or {}).get("toxicity") or {}).get("name"),
            }
            for r in rows
        ]


def last_hour(db: Database) -> dict[str, Any]:
    """Decisions in the last hour by who made them, and automatic decision latency."""
    since = utcnow() - timedelta(hours=1)
    with db.session() as session:
        by_status = dict(
            session.execute(
                select(Comment.status, func.count())
                .where(Comment.decided_at >= since)
                .group_by(Comment.status)
            ).all()
        )
        received = int(
            session.scalar(select(func.count()).where(Comment.received_at >= since)) or 0
        )
        # Latency is taken from a bounded sample so the page stays fast on a busy hour.
        pairs = session.execute(
            select(Comment.received_at, Comment.decided_at, Comment.decision)
            .where(Comment.decided_at >= since)
            .order_by(Comment.decided_at.desc())
            .limit(LATENCY_SAMPLE)
        ).all()
    latencies, by_whom = [], {"auto": 0, "moderator": 0}
    for received_at, _decided, decision in pairs:
        decision = decision or {}
        whom = decision.get("decided_by") or "auto"
        by_whom[whom] = by_whom.get(whom, 0) + 1
        # A moderator's decision keeps the automatic one under "auto": latency is the machine's.
        auto = decision if decision.get("decided_by") == "auto" else decision.get("auto") or {}
        if auto.get("decided_at"):
            decided_auto = datetime.fromisoformat(auto["decided_at"].replace("Z", "+00:00"))
            latencies.append((decided_auto - received_at).total_seconds())
    return {
        "received": received,
        "decided": int(sum(by_status.values())),
        "by_status": {k: int(v) for k, v in by_status.items()},
        "by_whom": by_whom,
        "per_minute": round(sum(by_status.values()) / 60, 2),
        "latency_p50_s": _percentile(latencies, 0.50),
        "latency_p95_s": _percentile(latencies, 0.95),
        "latency_samples": len(latencies),
    }


def overview(
    db: Database, settings: Settings, per_site: int = 5, reader: QueueReader | None = None
) -> dict[str, Any]:
    """Everything the ops page shows, in one call."""
    try:
        depths: dict[str, Any] = dict(queue_depths(settings, reader))
        broker_error = None
    except Exception as exc:  # a down broker is something to show, not a 500
        depths, broker_error = {}, type(exc).__name__
    with db.session() as session:
        dead = [event_view(e) for e in list_events(session, status="dead", limit=100)]
        sites = list(session.scalars(select(Site).order_by(Site.name)))
        recent = [
            {
                "site_id": site.id,
                "name": site.name,
                "disabled": site.callback_disabled_reason,
                "deliveries": [
                    event_view(e) for e in list_events(session, site_id=site.id, limit=per_site)
                ],
            }
            for site in sites
        ]
    return {
        "workers": workers(db, settings),
        "queues": depths,
        "broker_error": broker_error,
        "hour": last_hour(db),
        "dead": dead,
        "sites": recent,
    }
