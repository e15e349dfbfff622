"""Celery tasks: thin, idempotent, ids in; the work is in the domain package.

The app they register on, and the per-process setup, are the entry point's (`workers.celery`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from celery import Task
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from civil.comments import stranded_comments
from civil.db import Database
from civil.decided import publish_decided
from civil.decision import pipeline
from civil.delivery import events, sender
from civil.logs import bind
from civil.metrics import (
    DECISION_LATENCY,
    DECISION_REASONS,
    DECISIONS,
    DELIVERIES,
    RETENTION_DELETED,
    SCORE_BATCH,
    TASK_SECONDS,
)
from civil.models import Comment, utcnow
from civil.moderation import reports
from civil.notify import notify_moderators as send_notices
from civil.privacy.retention import apply_retention as retain
from civil.scoring import Scorer
from civil.tasknames import DELIVERY, SCORING
from workers import runtime
from workers.celery import app, settings

log = logging.getLogger("civil.worker")


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


def scorer_source() -> Scorer:
    return runtime.scorer(settings)


def _enqueue_deliveries(decided: list[pipeline.Decided]) -> None:
    # Wake `?wait=` callers first: the decisions have committed.
    publish_decided(settings.redis_url, [item.comment_id for item in decided])
    for item in decided:
        DECISIONS.labels(item.action).inc()
        for code in item.reasons:
            DECISION_REASONS.labels(code).inc()
        if item.latency_s is not None:
            DECISION_LATENCY.observe(item.latency_s)
    # One delivery pass per site with new callbacks, not one message per callback.
    wake_sites(site_ids=[item.site_id for item in decided if item.event_ids])


def wake_sites(site_ids: Iterable[str] = (), event_ids: Iterable[str] = ()) -> None:
    """Publish a delivery pass for each site of these whose pass is not queued already.

    After the events' commit; if a publish fails the site's mark is dropped again, and the
    dispatcher publishes its pass once the events' dispatch lease runs out.
    """
    sites = events.wake_sites(db(), site_ids, event_ids)
    for n, site_id in enumerate(sites):
        try:
            deliver_site.apply_async((site_id,), queue=DELIVERY)
        except Exception:
            events.unmark_sites(db(), sites[n:])
            raise


@app.task(base=CivilTask, bind=True, name="civil.score_comment")
def score_comment(self: Task, comment_id: int, revision: int) -> None:
    """Score a comment (and others waiting in line, as one batch) and record the decisions."""
    started = time.monotonic()
    with bind(comment_id=comment_id, revision=revision, task_id=self.request.id):
        claim = pipeline.claim_scoring(
            db(),
            (comment_id, revision),
            scorer_source,
            size=settings.score_batch_size,
            lease_s=settings.task_hard_time_limit,
            max_attempts=settings.task_max_attempts,
        )
        if claim is None:
            return
        SCORE_BATCH.observe(len(claim.batch))
        decided = pipeline.score_comments(db(), claim.batch, claim.scorer_source)
        for item in decided:
            log.info(
                "decided %s",
                item.action,
                extra={"comment_id": item.comment_id, "reasons": list(item.reasons)},
            )
        _enqueue_deliveries(decided)
        # Readers who reported a comment while it was pending: an approval meets them now.
        approved = [item.comment_id for item in decided if item.action == "approve"]
        wake_sites(event_ids=reports.hold_reported(db(), approved))
    TASK_SECONDS.labels("score_comment").observe(time.monotonic() - started)


def _log_outcome(outcome: sender.SendResult) -> None:
    if outcome.result != "skipped":
        DELIVERIES.labels(outcome.result).inc()
        # A delivered callback is bookkeeping; a failed or dead-lettered one is news.
        log.log(
            logging.DEBUG if outcome.result == "delivered" else logging.INFO,
            "delivery %s",
            outcome.result,
            extra={"status_code": outcome.status_code, "error": outcome.error},
        )


def _share(site_id: str) -> None:
    """A backlog: one more pass of the site, for an idle worker process to share it."""
    try:
        wake_sites(site_ids=[site_id])
    except Exception as exc:  # this pass goes on alone; the dispatcher covers the rest
        log.warning("could not wake a second delivery pass: %s", exc)


@app.task(base=CivilTask, bind=True, name="civil.deliver_site")
def deliver_site(self: Task, site_id: str) -> None:
    """One delivery pass over a site's due callbacks; queue the next if some are left."""
    started = time.monotonic()
    with bind(site_id=site_id, task_id=self.request.id):
        done = sender.deliver_site(db(), settings, site_id, backlog=lambda: _share(site_id))
        for outcome in done.outcomes:
            with bind(event_id=outcome.event_id):
                _log_outcome(outcome)
        if done.stopped:
            log.info(
                "delivery pass stopped: %s",
                done.stopped,
                extra={"sent": len(done.outcomes), "deferred": done.deferred},
            )
        if done.more:
            # Behind the other sites' passes: a site with a backlog takes its turn.
            wake_sites(site_ids=[site_id])
    TASK_SECONDS.labels("deliver_site").observe(time.monotonic() - started)


@app.task(base=CivilTask, bind=True, name="civil.deliver_event")
def deliver_event(self: Task, event_id: str) -> None:
    """Attempt one delivery of one callback event (messages from before site passes, replays
    published by older producers); the schedule lives in the event row."""
    started = time.monotonic()
    with bind(event_id=event_id, task_id=self.request.id):
        _log_outcome(sender.deliver_event(db(), settings, event_id))
    TASK_SECONDS.labels("deliver_event").observe(time.monotonic() - started)


@app.task(base=CivilTask, name="civil.sweep_pending")
def sweep_pending() -> int:
    """Re-queue comments left pending by a lost message or a broker outage (only those)."""
    older_than = utcnow() - timedelta(seconds=settings.sweep_after_seconds)
    queued = queued_messages(SCORING)
    with db().session() as session:
        stranded = stranded_comments(session, older_than, queued=queued)
        if stranded:
            # Marked as queued now: they rank as the newest of the queue's messages next time.
            ids = [comment_id for comment_id, _ in stranded]
            session.execute(update(Comment).where(Comment.id.in_(ids)).values(enqueued_at=utcnow()))
    for comment_id, revision in stranded:
        with bind(comment_id=comment_id):
            log.warning("re-queueing stranded comment")
        score_comment.apply_async((comment_id, revision), queue=SCORING)
    return len(stranded)


def queued_messages(queue: str) -> int:
    """Messages a queue holds now (0 when the broker cannot say)."""
    try:
        with app.connection_for_read() as connection:
            declared = connection.default_channel.queue_declare(queue=queue, passive=True)
            return int(declared.message_count)
    except Exception as exc:  # an empty Redis queue does not exist: passive declare refuses
        log.debug("%s queue length unknown: %s", queue, exc)
        return 0


def queued_deliveries() -> int:
    """Messages the delivery queue holds now (0 when the broker cannot say)."""
    return queued_messages(DELIVERY)


@app.task(base=CivilTask, name="civil.dispatch_deliveries")
def dispatch_deliveries() -> int:
    """Publish a delivery pass for every site with due callbacks and no pass message queued."""
    due = events.due_sites(db(), queued=queued_deliveries())
    for n, site_id in enumerate(due):
        try:
            deliver_site.apply_async((site_id,), queue=DELIVERY)
        except Exception:
            events.unmark_sites(db(), due[n:])
            raise
    return len(due)


@app.task(base=CivilTask, name="civil.apply_retention")
def apply_retention() -> dict[str, int]:
    """Delete decided comments and finished callbacks past each site's retention_days."""
    started = time.monotonic()
    counts = retain(db())
    for kind, n in counts.items():
        RETENTION_DELETED.labels(kind).inc(n)
    log.info("retention run", extra=counts)
    TASK_SECONDS.labels("apply_retention").observe(time.monotonic() - started)
    return counts


@app.task(base=CivilTask, name="civil.notify_moderators")
def notify_moderators() -> int:
    """Tell moderators about a long held queue, an old held comment or dead callbacks."""
    return send_notices(db(), settings)
