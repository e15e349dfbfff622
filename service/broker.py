"""The producer side of the broker: publish task ids by name, never import worker code.

The API publishes through it, and so does the CLI (`make_producer`, `publish_deliveries`: neither
needs Flask).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress

from celery import Celery
from flask import Flask, current_app
from kombu import Queue
from sqlalchemy.exc import SQLAlchemyError

from civil.db import Database
from civil.delivery.events import unmark_sites, wake_sites
from civil.settings import Settings
from civil.tasknames import DELIVER_SITE, DELIVERY, MAINTENANCE, SCORE_COMMENT, SCORING

log = logging.getLogger("civil.api")
# Fail fast when the broker is down: the row is already committed and the sweeper re-queues it.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def make_producer(settings: Settings) -> Celery:
    producer = Celery("civil-api", broker=settings.broker_url)
    producer.conf.update(
        # The embedded broker's full-disk-safe transport (loaded by name, not imported here).
        broker_transport="workers.brokerfs:Transport" if settings.embedded_broker else None,
        broker_transport_options=settings.broker_transport_options(),
        task_serializer="json",
        task_ignore_result=True,
        broker_connection_timeout=2,
        broker_connection_max_retries=1,
        # Declared as the workers declare them: RabbitMQ refuses a second declaration of a
        # quorum queue with other arguments (PRECONDITION_FAILED).
        task_queues=[
            Queue(name, queue_arguments=settings.queue_arguments() or None)
            for name in (SCORING, DELIVERY, MAINTENANCE)
        ],
    )
    return producer


def amqp_reader(settings: Settings, producer: Celery | None = None) -> Callable[[str], int] | None:
    """What `civil.ops.health.queue_depths` needs on RabbitMQ (None on other brokers)."""
    if settings.broker_kind != "amqp":
        return None
    client = producer or make_producer(settings)
    return lambda queue: queue_depth(client, queue)


def amqp_probe(settings: Settings, producer: Celery | None = None) -> Callable[[], None] | None:
    if settings.broker_kind != "amqp":
        return None
    client = producer or make_producer(settings)
    return lambda: broker_reachable(client)


def queue_depth(producer: Celery, queue: str) -> int:
    """Messages ready in a queue, asked of the broker itself (a passive declare: AMQP)."""
    with producer.connection_for_read() as connection:
        declared = connection.default_channel.queue_declare(queue=queue, passive=True)
        return int(declared.message_count)


def broker_reachable(producer: Celery) -> None:
    """Raise unless the broker accepts a connection now."""
    with producer.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


def init_app(app: Flask) -> None:
    app.extensions["civil"]["producer"] = make_producer(app.extensions["civil"]["settings"])


def enqueue_scoring(comment_id: int, revision: int) -> bool:
    """Queue a comment for scoring; False (logged) when the broker is unreachable."""
    producer: Celery = current_app.extensions["civil"]["producer"]
    try:
        producer.send_task(
            SCORE_COMMENT,
            args=(comment_id, revision),
            queue=SCORING,
            retry=True,
            retry_policy=PUBLISH_RETRY,
        )
        return True
    except Exception as exc:
        log.warning(
            "enqueue failed; the sweeper will re-queue: %s", exc, extra={"comment_id": comment_id}
        )
        return False


def publish_deliveries(producer: Celery, db: Database, event_ids: list[str]) -> bool:
    """Wake the delivery passes of the sites of events already committed to the outbox.

    One `civil.deliver_site` message per site whose pass is not queued already (a queued one
    takes these events too); False (logged) on a broker or database error. Flask-free, so the
    CLI publishes its replays through it too. A miss loses nothing: the events wait in the
    outbox, and the dispatcher wakes their sites once their dispatch lease runs out.
    """
    if not event_ids:
        return True
    try:
        sites = wake_sites(db, event_ids=event_ids)
    except SQLAlchemyError as exc:
        log.warning("delivery wake failed; the dispatcher will send them: %s", exc)
        return False
    for n, site_id in enumerate(sites):
        try:
            producer.send_task(
                DELIVER_SITE,
                args=(site_id,),
                queue=DELIVERY,
                retry=True,
                retry_policy=PUBLISH_RETRY,
            )
        except Exception as exc:
            log.warning("delivery enqueue failed; the dispatcher will send it: %s", exc)
            with suppress(SQLAlchemyError):
                unmark_sites(db, sites[n:])
            return False
    return True


def send_deliveries(event_ids: list[str]) -> bool:
    """Queue delivery of events already committed to the outbox (the dispatcher covers a miss)."""
    if not event_ids:
        return True
    civil = current_app.extensions["civil"]
    return publish_deliveries(civil["producer"], civil["db"], event_ids)
