"""Settings: the one place the environment is read.

Every process (API, worker, beat, CLI) builds one `Settings` from the environment; tests build
their own with `Settings.from_env(overrides)` or `replace(...)`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PREFIX = "CIVIL_"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


MAX_AKISMET_DEADLINE_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    """Configuration of one Civil deployment (every field maps to a CIVIL_* variable)."""

    data_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""
    # The Redis Sentinel master group when the broker URL is `sentinel://…`.
    broker_master_name: str = ""
    # Redis for rate-limit and spam-velocity counters when the broker is not Redis (RabbitMQ);
    # with a Redis or Sentinel broker they live there and this stays empty.
    shared_redis_url: str = ""
    # Connections each process keeps to the database (SQLAlchemy's pool) and may open beyond
    # that under a burst; behind PgBouncer these are client connections, cheap to hold.
    database_pool_size: int = 5
    database_max_overflow: int = 10
    # Behind PgBouncer in transaction mode: no server-side prepared statements (a statement
    # prepared on one server connection is unknown on the next one the pooler hands out).
    database_pgbouncer: bool = False
    toxicity_model: str = "cascade"
    # The models shipped in this repository (an installed image sets CIVIL_MODEL_DIR).
    model_dir: Path = Path(__file__).resolve().parents[1] / "models"
    allow_private_callbacks: bool = False
    max_body_bytes: int = 64 * 1024
    max_comment_chars: int = 20_000
    intake_rate_limit: str = "600/minute"
    # Requests without a valid key, per client address (each costs a key lookup).
    unauthenticated_rate_limit: str = "60/minute"
    sweep_after_seconds: int = 60
    sweep_interval_seconds: int = 30
    # How often sites' retention_days are applied (hourly is plenty for a limit in days).
    retention_interval_seconds: int = 3600
    delivery_poll_seconds: int = 5
    delivery_timeout_seconds: float = 10.0
    delivery_retry_hours: float = 25.0
    delivery_backoff_base_seconds: float = 5.0
    delivery_backoff_max_seconds: float = 3600.0
    # A site's delivery pass (one worker task) sends its due callbacks over one kept-alive
    # connection, claiming this many at a time, and starts no new one after this many seconds
    # (it then queues its continuation behind the other sites' passes).
    delivery_pass_size: int = 50
    delivery_pass_seconds: float = 5.0
    task_soft_time_limit: int = 60
    task_hard_time_limit: int = 90
    task_max_attempts: int = 5
    visibility_timeout: int = 3600
    score_batch_size: int = 32
    # `civil run` starts its worker and scheduler this much nicer than the API (0-19; 0: the
    # same priority): on the cores they share, a burst of scoring never queues the sites'
    # POSTs behind it; the scoring still gets every cycle the API leaves.
    worker_nice: int = 5
    torch_threads: int = 1
    worker_heartbeat_seconds: int = 10
    worker_stale_seconds: int = 60
    port: int = 8000
    worker_metrics_port: int = 0
    log_level: str = "INFO"
    # `json` (one object a line, for a log pipeline) or `human` (short lines for a person);
    # empty: JSON, except `civil run` with a terminal on stderr, which uses `human`.
    log_format: str = ""
    # Akismet comment-check waits this long for the worker's decision, then answers from the
    # rules alone (the comment stays queued and is decided as usual).
    akismet_deadline_seconds: float = 3.0
    # The model the API process itself loads (once, lazily) to answer synchronous calls:
    # Perspective analyze and /v1/moderations. Empty (the default): the workers' model
    # (`toxicity_model`), so one comment gets one answer; `linear` needs only numpy and
    # answers in well under a millisecond, at the cost of a second opinion.
    sync_toxicity_model: str = ""
    # Languages (comma-separated primary tags) the Perspective endpoint accepts.
    compat_languages: str = "en"
    # Signs moderator session cookies and CSRF tokens; empty: a random one kept in data_dir.
    secret_key: str = ""
    # Session cookies only over HTTPS (browsers treat http://localhost as secure too).
    secure_cookies: bool = True
    # The admin API (/v1/admin/...): `Authorization: Bearer <admin_token>`; empty: only the
    # token of an admin moderator account opens it.
    admin_token: str = ""
    # Where people reach this deployment: the base of the workspace links in notifications.
    public_url: str = "http://127.0.0.1:8000"
    # Moderator notifications (civil/notify.py); a site's own `notify` settings override these.
    notify_interval_seconds: int = 60
    notify_webhook_url: str = ""
    notify_emails: str = ""
    notify_held_over: int = 50
    notify_oldest_minutes: int = 60
    notify_window_minutes: int = 60
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "civil@localhost"
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from CIVIL_* variables, then apply keyword overrides."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for name, fdef in cls.__dataclass_fields__.items():
            raw = env.get(PREFIX + name.upper())
            if raw is None:
                continue
            kind = fdef.type
            if kind == "Path":
                values[name] = Path(raw)
            elif kind == "bool":
                values[name] = _bool(raw)
            elif kind == "int":
                values[name] = int(raw)
            elif kind == "float":
                values[name] = float(raw)
            else:
                values[name] = raw
        values.update(overrides)
        return cls(**values).resolved()

    def resolved(self) -> Settings:
        """Fill the embedded defaults (SQLite file, filesystem broker) under data_dir."""
        if self.delivery_pass_size < 1 or self.delivery_pass_seconds <= 0:
            raise ValueError(
                "CIVIL_DELIVERY_PASS_SIZE must be at least 1 and CIVIL_DELIVERY_PASS_SECONDS "
                f"above 0, not {self.delivery_pass_size} and {self.delivery_pass_seconds:g}"
            )
        # Each waiting comment-check holds a web thread, so the wait is bounded.
        if not 0 <= self.akismet_deadline_seconds <= MAX_AKISMET_DEADLINE_SECONDS:
            raise ValueError(
                f"CIVIL_AKISMET_DEADLINE_SECONDS must be between 0 and "
                f"{MAX_AKISMET_DEADLINE_SECONDS:g}, not {self.akismet_deadline_seconds:g}"
            )
        if not 0 <= self.worker_nice <= 19:
            raise ValueError(f"CIVIL_WORKER_NICE must be between 0 and 19, not {self.worker_nice}")
        data_dir = Path(self.data_dir).resolve()
        db = self.database_url or f"sqlite:///{data_dir / 'civil.sqlite3'}"
        broker = self.broker_url or "filesystem://localhost/"
        out = replace(
            self,
            sync_toxicity_model=self.sync_toxicity_model or self.toxicity_model,
            data_dir=data_dir,
            database_url=db,
            broker_url=broker,
            model_dir=Path(self.model_dir),
        )
        # An unsupported broker (Redis Cluster, a typo) fails here, at start-up, with its reason.
        if out.broker_kind == "sentinel":  # broker_kind raises for an unsupported URL
            out.broker_transport_options()
        return out

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("filesystem://")

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def broker_kind(self) -> str:
        """`embedded`, `redis`, `sentinel` or `amqp` (RabbitMQ, quorum queues)."""
        if self.embedded_broker:
            return "embedded"
        if self.broker_url.startswith(("redis://", "rediss://")):
            return "redis"
        if self.broker_url.startswith("sentinel://"):
            return "sentinel"
        if self.broker_url.startswith(("amqp://", "amqps://", "pyamqp://")):
            return "amqp"
        raise ValueError(
            "CIVIL_BROKER_URL must be redis://, rediss://, sentinel://, amqp:// or amqps:// "
            f"(Redis Cluster cannot carry Celery's queues), not {self.broker_url.split(':')[0]}://"
        )

    @property
    def redis_url(self) -> str | None:
        """Where the rate-limit and velocity counters live: the Redis broker (through Sentinel
        when the broker is), else `shared_redis_url`; None without Redis."""
        if self.shared_redis_url:
            return self.shared_redis_url
        if self.broker_kind == "redis":
            return self.broker_url
        if self.broker_kind == "sentinel":
            from civil.redisconn import from_kombu_url

            return from_kombu_url(self.broker_url, self.broker_master_name).url()
        return None

    def queue_arguments(self) -> dict[str, Any]:
        """Declaration arguments of Civil's queues (producers and workers must agree).

        On RabbitMQ they are quorum queues: replicated (Raft) across the cluster's nodes, so a
        node lost keeps every message another node holds. Redis and the folder broker take none.
        """
        return {"x-queue-type": "quorum"} if self.broker_kind == "amqp" else {}

    def broker_transport_options(self) -> dict[str, Any]:
        """Kombu transport options for the configured broker (used by producers and workers)."""
        if self.embedded_broker:
            # The embedded broker is a folder shared by producers and consumers.
            folder, processed = self.broker_dir / "queue", self.broker_dir / "processed"
            for path in (folder, processed, self.broker_dir / "control"):
                path.mkdir(parents=True, exist_ok=True)
            return {
                "data_folder_in": str(folder),
                "data_folder_out": str(folder),
                "processed_folder": str(processed),
                "store_processed": False,
                # Fanout/control messages; kombu's default is ./control in the working dir.
                "control_folder": str(self.broker_dir / "control"),
                # Folder polling: 0.1 s keeps decision latency low at negligible CPU cost.
                "polling_interval": 0.1,
            }
        if self.broker_kind == "amqp":
            # Publisher confirms: a publish returns once the quorum queue's majority has it.
            return {"confirm_publish": True}
        # Redis re-delivers an unacked message after the visibility timeout; it must exceed the
        # hard time limit or a slow task would run twice while still running.
        options: dict[str, Any] = {
            "visibility_timeout": max(self.visibility_timeout, self.task_hard_time_limit * 2)
        }
        if self.broker_kind == "sentinel":
            if not self.broker_master_name:
                raise ValueError("a sentinel:// broker needs CIVIL_BROKER_MASTER_NAME")
            options["master_name"] = self.broker_master_name
        return options

    def as_env(self) -> dict[str, str]:
        """Render back to CIVIL_* variables, for child processes started by `civil run`."""
        out = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, bool):
                value = "1" if value else "0"
            out[PREFIX + name.upper()] = str(value)
        return out
