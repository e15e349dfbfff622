"""The beat scheduler: Celery's persistent one, recording each tick in the database.

`civil status --beat` (the compose healthcheck) and /readyz read that row, so a scheduler
whose loop stopped is seen as down, not only one whose process exited.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from celery.beat import PersistentScheduler
from sqlalchemy.exc import SQLAlchemyError

from civil.ops.health import SCHEDULER_PREFIX
from workers import heartbeat, runtime

log = logging.getLogger("civil.beat")


class CivilScheduler(PersistentScheduler):
    """PersistentScheduler that upserts `scheduler@<host>` at most every heartbeat interval."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.civil_settings = self.app.civil_settings
        self.heartbeat_name = SCHEDULER_PREFIX + socket.gethostname()
        self.last_heartbeat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = float(super().tick(*args, **kwargs))
        every = self.civil_settings.worker_heartbeat_seconds
        if time.monotonic() - self.last_heartbeat >= every:
            self._record()
        # Wake up often enough to beat even when no task is due for a long time.
        return min(interval, every)

    def _record(self) -> None:
        try:
            heartbeat.beat(runtime.database(self.civil_settings), self.heartbeat_name, "")
            self.last_heartbeat = time.monotonic()
        except SQLAlchemyError as exc:  # a database outage must not stop the schedule
            log.warning("scheduler heartbeat failed: %s", exc)
