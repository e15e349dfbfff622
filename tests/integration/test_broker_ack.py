"""A late ack that runs after the consumer released its Redis connection must not be fatal."""

from __future__ import annotations

import logging

from civil.settings import Settings
from workers.app import make_celery


def test_late_ack_on_a_released_connection_is_logged_not_raised(redis_url, caplog):
    app = make_celery(Settings.from_env({}, broker_url=redis_url))
    conn = app.connection_for_read()
    queue = conn.SimpleQueue("civil-ack-probe")
    queue.put({"comment_id": 1})
    message = queue.get(timeout=10)  # taken, not acked yet: task_acks_late
    # The state the worker's crash traceback shows once the consumer released the connection
    # it lost: the channel dropped its pool, the transport no longer knows its client.
    channel = message.channel
    channel._disconnect_pools()
    channel.connection.client = None
    # What the event loop then runs for the task that finished meanwhile. Kombu's own
    # transport raises AttributeError here ('NoneType' object has no attribute ...), which
    # Celery does not count as a connection error: the worker process exits.
    message.ack_log_error(logging.getLogger("test"), conn.connection_errors)
    assert "Couldn't ack" in caplog.text
    assert not message.acknowledged
    # Give the transport its client back so kombu's exit-time restore of unacked messages
    # can put the probe back instead of failing on the released channel.
    channel.connection.client = conn
    queue.close()
