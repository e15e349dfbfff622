"""Celery tasks: thin, idempotent, ids in; the work is in the domain package."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from celery import Task
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from civil.comments import stranded_comments
from civil.db import Database
from civil.decision import pipeline
from civil.delivery import events, sender
from civil.logs import bind, configure_logging
from civil.metrics import (
    DECISION_LATENCY,
    DECISION_REASONS,
    DECISIONS,
    DELIVERIES,
    SCORE_BATCH,
    TASK_SECONDS,
)
from civil.models import Comment, utcnow
from civil.scoring import Scorer, ScorerUnavailable
from civil.settings import Settings
from workers import heartbeat, runtime
from workers.app import DELIVERY, SCORING, make_celery

log = logging.getLogger("civil.worker")
settings = Settings.from_env()
app = make_celery(settings)


class CivilTask(Task):  # type: ignore[misc]
    """House defaults: late ack, retry with backoff on database hiccups, bounded attempts."""

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (OperationalError,)
    retry_backoff = True
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = settings.task_max_attempts
    ignore_result = True


def db() -> Database:
    return runtime.database(settings)


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
    heartbeat.record_models(db(), runtime.model_status())


@worker_ready.connect
def _on_ready(sender: Any = None, **_: Any) -> None:
    queues = (
        ",".join(sorted(q.name for q in sender.app.amqp.queues.consume_from.values()))
        if sender is not None
        else ""
    )
    heartbeat.start(db(), runtime.nodename(), queues, settings.worker_heartbeat_seconds)
    if settings.worker_metrics_port:
        runtime.serve_metrics(settings.worker_metrics_port)


@worker_shutdown.connect
def _on_shutdown(**_: Any) -> None:
    heartbeat.stop(db(), runtime.nodename())


def scorer_source() -> Scorer:
    return runtime.scorer(settings)


def _enqueue_deliveries(decided: list[pipeline.Decided]) -> None:
    for item in decided:
        DECISIONS.labels(item.action).inc()
        for code in item.reasons:
            DECISION_REASONS.labels(code).inc()
        if item.latency_s is not None:
            DECISION_LATENCY.observe(item.latency_s)
        for event_id in item.event_ids:
            # After the decision's commit; if this send fails the dispatcher re-sends
            # once the event's dispatch lease runs out.
            deliver_event.apply_async((event_id,), queue=DELIVERY)


def _attempts(comment_id: int) -> int | None:
    with db().session() as session:
        return session.scalar(select(Comment.score_attempts).where(Comment.id == comment_id))


def _give_up(reason: str) -> pipeline.ScorerSource:
    def source() -> Scorer:
        raise ScorerUnavailable(reason)

    return source


@app.task(base=CivilTask, bind=True, name="civil.score_comment")
def score_comment(self: Task, comment_id: int, revision: int) -> None:
    """Score a comment (and others waiting in line, as one batch) and record the decisions."""
    started = time.monotonic()
    with bind(comment_id=comment_id, revision=revision, task_id=self.request.id):
        attempts = _attempts(comment_id)
        if attempts is None:
            return
        source = scorer_source
        if attempts >= settings.task_max_attempts:
            # A poison comment (it killed or timed out its worker N times) is decided by the
            # site's failure policy instead of being retried for ever.
            log.error("giving up scoring after %s attempts", attempts)
            source = _give_up(f"scoring failed {attempts} times")
        batch = pipeline.claim_batch(
            db(), (comment_id, revision), settings.score_batch_size, settings.task_hard_time_limit
        )
        SCORE_BATCH.observe(len(batch))
        decided = pipeline.score_comments(db(), batch, source)
        for item in decided:
            log.info(
                "decided %s",
                item.action,
                extra={"comment_id": item.comment_id, "reasons": list(item.reasons)},
            )
        _enqueue_deliveries(decided)
    TASK_SECONDS.labels("score_comment").observe(time.monotonic() - started)


@app.task(base=CivilTask, bind=True, name="civil.deliver_event")
def deliver_event(self: Task, event_id: str) -> None:
    """Attempt one delivery of a callback event (the schedule lives in the event row)."""
    started = time.monotonic()
    with bind(event_id=event_id, task_id=self.request.id):
        outcome = sender.deliver_event(db(), settings, event_id)
        if outcome.result != "skipped":
            DELIVERIES.labels(outcome.result).inc()
            log.info(
                "delivery %s",
                outcome.result,
                extra={"status_code": outcome.status_code, "error": outcome.error},
            )
    TASK_SECONDS.labels("deliver_event").observe(time.monotonic() - started)


@app.task(base=CivilTask, name="civil.sweep_pending")
def sweep_pending() -> int:
    """Re-queue comments left pending by a lost message or a broker outage."""
    older_than = utcnow() - timedelta(seconds=settings.sweep_after_seconds)
    with db().session() as session:
        stranded = stranded_comments(session, older_than)
        for comment_id, _revision in stranded:
            session.get(Comment, comment_id).enqueued_at = utcnow()  # type: ignore[union-attr]
    for comment_id, revision in stranded:
        with bind(comment_id=comment_id):
            log.warning("re-queueing stranded comment")
        score_comment.apply_async((comment_id, revision), queue=SCORING)
    return len(stranded)


@app.task(base=CivilTask, name="civil.dispatch_deliveries")
def dispatch_deliveries() -> int:
    """Enqueue every callback whose next attempt is due."""
    due = events.due_events(db())
    for event_id in due:
        deliver_event.apply_async((event_id,), queue=DELIVERY)
    return len(due)
