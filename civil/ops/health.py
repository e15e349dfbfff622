"""Readiness facts from the database and the broker (for /readyz and `civil status`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from civil.db import Database
from civil.models import Comment, Event, WorkerHeartbeat, utcnow
from civil.settings import Settings
from civil.tasknames import DELIVERY, MAINTENANCE, SCORING

QUEUES = (SCORING, DELIVERY, MAINTENANCE)


def check_database(db: Database) -> dict[str, Any]:
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def queue_depths(settings: Settings) -> dict[str, int]:
    """Messages waiting per queue (Redis lists, or files of the embedded broker)."""
    if settings.redis_url:
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
        return {q: int(client.llen(q)) for q in QUEUES}
    folder = Path(settings.broker_transport_options()["data_folder_in"])
    return {q: sum(1 for _ in folder.glob(f"*.{q}.msg")) for q in QUEUES}


def check_broker(settings: Settings) -> dict[str, Any]:
    try:
        if settings.redis_url:
            import redis

            redis.Redis.from_url(settings.redis_url, socket_timeout=2).ping()
        else:
            folder = Path(settings.broker_transport_options()["data_folder_in"])
            probe = folder / ".probe"
            probe.write_text("ok")
            probe.unlink()
        return {"ok": True, "url": settings.broker_url.split("@")[-1]}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


# The scheduler (beat) beats into the workers' table under this name prefix; it is no worker.
SCHEDULER_PREFIX = "scheduler@"


def live_workers(db: Database, settings: Settings) -> list[dict[str, Any]]:
    return [w for w in _live(db, settings) if not w["name"].startswith(SCHEDULER_PREFIX)]


def live_schedulers(db: Database, settings: Settings) -> list[dict[str, Any]]:
    """Schedulers whose loop ticked within worker_stale_seconds."""
    return [w for w in _live(db, settings) if w["name"].startswith(SCHEDULER_PREFIX)]


def _live(db: Database, settings: Settings) -> list[dict[str, Any]]:
    since = utcnow() - timedelta(seconds=settings.worker_stale_seconds)
    with db.session() as session:
        rows = session.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.seen_at >= since))
        return [
            {
                "name": r.hostname,
                "queues": r.queues,
                "models": r.models,
                "seen_at": r.seen_at.isoformat(),
            }
            for r in rows
        ]


def models_loaded(workers: list[dict[str, Any]]) -> bool:
    return any((w["models"].get("toxicity") or {}).get("loaded") for w in workers)


def counts(db: Database) -> dict[str, Any]:
    """Comments by status and deliveries by status (dead letters included)."""
    with db.session() as session:
        comments = dict(
            session.execute(select(Comment.status, func.count()).group_by(Comment.status)).all()
        )
        events = dict(
            session.execute(select(Event.status, func.count()).group_by(Event.status)).all()
        )
    return {"comments": comments, "deliveries": events}
