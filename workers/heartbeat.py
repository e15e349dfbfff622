"""Worker liveness rows in the database: /readyz and `civil status` read them on any broker."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from civil.db import Database
from civil.models import WorkerHeartbeat, utcnow

log = logging.getLogger("civil.worker")
_stop = threading.Event()


def beat(
    db: Database, name: str, queues: str | None = None, models: dict[str, Any] | None = None
) -> None:
    """Upsert this worker's row with the current time."""
    for attempt in range(3):
        try:
            _upsert(db, name, queues, models)
            return
        except IntegrityError:
            # The main process and a pool child can both create the row at start-up;
            # the loser finds it on the next try and updates it.
            if attempt == 2:
                raise


def _upsert(db: Database, name: str, queues: str | None, models: dict[str, Any] | None) -> None:
    with db.session() as session:
        row = session.get(WorkerHeartbeat, name)
        if row is None:
            row = WorkerHeartbeat(
                hostname=name, queues=queues or "", models=models or {}, started_at=utcnow()
            )
            session.add(row)
        row.seen_at = utcnow()
        if queues is not None:
            row.queues = queues
        if models is not None:
            row.models = models


def record_models(db: Database, models: dict[str, Any]) -> None:
    from workers.runtime import nodename

    try:
        beat(db, nodename(), models=models)
    except SQLAlchemyError as exc:  # the schema may not exist yet on a first start
        log.warning("could not record model status: %s", exc)


def _loop(db: Database, name: str, queues: str, every: int) -> None:
    first = True
    while not _stop.is_set():
        try:
            beat(db, name, queues if first else None)
            first = False
        except SQLAlchemyError as exc:
            log.warning("heartbeat failed: %s", exc)
        _stop.wait(every)


def start(db: Database, name: str, queues: str, every: int) -> None:
    """Beat from a daemon thread of the worker's main process."""
    _stop.clear()
    threading.Thread(
        target=_loop, args=(db, name, queues, every), daemon=True, name="civil-heartbeat"
    ).start()


def stop(db: Database, name: str) -> None:
    """Stop beating and remove the row so a clean shutdown is not counted as a live worker."""
    _stop.set()
    try:
        with db.session() as session:
            row = session.get(WorkerHeartbeat, name)
            if row is not None:
                session.delete(row)
    except SQLAlchemyError as exc:
        log.warning("could not remove heartbeat: %s", exc)
