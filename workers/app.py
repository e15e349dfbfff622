"""The Celery app, built from Settings, with the settings that lose nothing on SIGKILL."""

from __future__ import annotations

from datetime import timedelta

from celery import Celery
from kombu import Queue

from civil.settings import Settings
from civil.tasknames import DELIVERY, MAINTENANCE, SCORING

# The embedded broker's transport (workers/brokerfs.py), by name: the API's producer names it
# too, without importing worker code.
EMBEDDED_TRANSPORT = "workers.brokerfs:Transport"
# Plain redis:// and sentinel:// (rediss:// keeps kombu's own): see workers/brokerredis.py.
REDIS_TRANSPORT = "workers.brokerredis:Transport"
SENTINEL_TRANSPORT = "workers.brokerredis:SentinelTransport"


def _transport(settings: Settings) -> str | None:
    if settings.embedded_broker:
        return EMBEDDED_TRANSPORT
    if settings.broker_url.startswith("redis://"):
        return REDIS_TRANSPORT
    return SENTINEL_TRANSPORT if settings.broker_kind == "sentinel" else None


def civil_queues(settings: Settings) -> list[Queue]:
    """Civil's three queues, declared as the broker wants them (quorum queues on RabbitMQ)."""
    arguments = settings.queue_arguments() or None
    return [Queue(name, queue_arguments=arguments) for name in (SCORING, DELIVERY, MAINTENANCE)]


def make_celery(settings: Settings) -> Celery:
    """Create the Celery app for these settings."""
    app = Celery("civil", broker=settings.broker_url, include=["workers.tasks"])
    app.conf.update(
        broker_transport=_transport(settings),
        broker_transport_options=settings.broker_transport_options(),
        broker_connection_retry_on_startup=True,
        # Reconnect for as long as the broker is down: the default gives up after 100 attempts
        # (a few minutes of outage) and the worker exits, taking nothing with it but itself.
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        task_ignore_result=True,  # outcomes live in database rows
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        # Ack only after the task ran, and give the message back if the process running it
        # dies (SIGKILL, OOM): nothing is lost, and tasks are idempotent, so re-runs are safe.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_hard_time_limit,
        task_default_queue=SCORING,
        task_queues=civil_queues(settings),
        # Quorum queues refuse a global QoS (prefetch per channel): Celery detects them and
        # sets the prefetch per consumer instead.
        worker_detect_quorum_queues=True,
        task_routes={
            "civil.score_comment": {"queue": SCORING},
            "civil.deliver_event": {"queue": DELIVERY},
            "civil.deliver_site": {"queue": DELIVERY},
            "civil.sweep_pending": {"queue": MAINTENANCE},
            "civil.dispatch_deliveries": {"queue": MAINTENANCE},
            "civil.apply_retention": {"queue": MAINTENANCE},
            "civil.notify_moderators": {"queue": MAINTENANCE},
        },
        beat_schedule={
            "sweep-pending": {
                "task": "civil.sweep_pending",
                "schedule": timedelta(seconds=settings.sweep_interval_seconds),
                "options": {"expires": settings.sweep_interval_seconds},
            },
            "dispatch-deliveries": {
                "task": "civil.dispatch_deliveries",
                "schedule": timedelta(seconds=settings.delivery_poll_seconds),
                "options": {"expires": settings.delivery_poll_seconds * 2},
            },
            "apply-retention": {
                "task": "civil.apply_retention",
                "schedule": timedelta(seconds=settings.retention_interval_seconds),
                "options": {"expires": settings.retention_interval_seconds},
            },
            "notify-moderators": {
                "task": "civil.notify_moderators",
                "schedule": timedelta(seconds=settings.notify_interval_seconds),
                "options": {"expires": settings.notify_interval_seconds},
            },
        },
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        beat_scheduler="workers.schedule:CivilScheduler",
        worker_hijack_root_logger=False,
        worker_send_task_events=True,  # Flower shows tasks live
        task_send_sent_event=True,
    )
    app.civil_settings = settings  # type: ignore[attr-defined]
    return app
