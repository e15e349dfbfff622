"""Readiness facts from the database and the broker (for /readyz and `civil status`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
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


# Asks an AMQP broker (RabbitMQ) itself: a passive declare, which needs the task queue's
# client, so the caller (service, cli) passes it in.
QueueReader = Callable[[str], int]


def _broker_redis(settings: Settings) -> Any:
    """A client of the broker's Redis (its current master behind Sentinel)."""
    from civil.redisconn import client, from_kombu_url

    url = settings.broker_url
    if settings.broker_kind == "sentinel":
        url = from_kombu_url(url, settings.broker_master_name).url()
    return client(url, socket_timeout=2, socket_connect_timeout=2)


def queue_depths(settings: Settings, reader: QueueReader | None = None) -> dict[str, int]:
    """Messages waiting per queue (Redis lists, RabbitMQ's count, files of the folder broker)."""
    kind = settings.broker_kind
    if kind in ("redis", "sentinel"):
        redis_client = _broker_redis(settings)
        return {q: int(redis_client.llen(q)) for q in QUEUES}
    if kind == "amqp":
        if reader is None:
            raise RuntimeError("queue depths on RabbitMQ need the broker's client")
        return {q: reader(q) for q in QUEUES}
    folder = Path(settings.broker_transport_options()["data_folder_in"])
    return {q: sum(1 for _ in folder.glob(f"*.{q}.msg")) for q in QUEUES}


def oldest_waiting(db: Database, now: datetime | None = None) -> dict[str, float]:
    """Seconds the oldest work of each queue has waited: the signal to scale workers on.

    Read from the rows the messages stand for, the same on every broker (RabbitMQ cannot show
    a queue's head without delivering it), and a message lost with a broker still counts:
    - scoring: the oldest comment revision not yet decided, since it was submitted (a first
      revision by its receipt, which the sweeper's re-queues do not move; an edit by its own
      submission);
    - delivery: the callback event due longest ago and not yet sent.
    0 when nothing waits.
    """
    now = now or utcnow()
    with db.session() as session:
        first = session.scalar(
            select(func.min(Comment.received_at)).where(
                Comment.status == "pending", Comment.revision == 1
            )
        )
        edited = session.scalar(
            select(func.min(Comment.enqueued_at)).where(
                Comment.status == "pending", Comment.revision > 1
            )
        )
        due = session.scalar(
            select(func.min(Event.next_attempt_at)).where(
                Event.status == "pending", Event.next_attempt_at <= now
            )
        )
    oldest = min((t for t in (first, edited) if t is not None), default=None)
    return {SCORING: _age(now, oldest), DELIVERY: _age(now, due)}


def _age(now: datetime, since: datetime | None) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:
        since = since.replace(tzinfo=now.tzinfo)
    return round(max((now - since).total_seconds(), 0.0), 3)


def check_broker(settings: Settings, probe: Callable[[], None] | None = None) -> dict[str, Any]:
    try:
        kind = settings.broker_kind
        if kind in ("redis", "sentinel"):
            _broker_redis(settings).ping()
        elif kind == "amqp":
            if probe is None:
                raise RuntimeError("no AMQP probe")
            probe()
        else:
            folder = Path(settings.broker_transport_options()["data_folder_in"])
            marker = folder / ".probe"
            marker.write_text("ok")
            marker.unlink()
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
