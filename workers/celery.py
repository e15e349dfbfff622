"""The worker entry point (`celery -A workers.celery worker|beat`): the app and its signals.

The app is built from the settings once, here; `workers.tasks` registers the tasks on it (the
app's `include` imports that module when a worker starts). The signal handlers set up what is
per process: logging and the node name in the worker, the database and the models in each of
its forked children.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown

from civil.logs import configure_logging
from civil.settings import Settings
from workers import heartbeat, runtime
from workers.app import make_celery

settings = Settings.from_env()
app = make_celery(settings)


@worker_init.connect
def _on_worker_init(sender: Any = None, **_: Any) -> None:
    configure_logging(settings.log_level)
    runtime.set_nodename(getattr(sender, "hostname", None))


@worker_process_init.connect
def _on_process_init(**_: Any) -> None:
    # Each forked child gets its own DB connections and loads the models once, here,
    # never per task and never at import (the parent would share them across forks).
    configure_logging(settings.log_level)
    runtime.reset_database()
    runtime.load_scorer(settings)
    runtime.load_spam_model(settings)
    heartbeat.record_models(runtime.database(settings), runtime.model_status())


@worker_ready.connect
def _on_ready(sender: Any = None, **_: Any) -> None:
    queues = (
        ",".join(sorted(q.name for q in sender.app.amqp.queues.consume_from.values()))
        if sender is not None
        else ""
    )
    heartbeat.start(
        runtime.database(settings), runtime.nodename(), queues, settings.worker_heartbeat_seconds
    )
    if settings.worker_metrics_port:
        runtime.serve_metrics(settings.worker_metrics_port)


@worker_shutdown.connect
def _on_shutdown(**_: Any) -> None:
    heartbeat.stop(runtime.database(settings), runtime.nodename())
