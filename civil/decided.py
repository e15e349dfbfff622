"""Telling `?wait=` callers that their comment is decided (Redis pub/sub), instead of polling.

The worker publishes each decided comment's id after the decision has committed; an intake
request that waits subscribes to its comment's channel *before* it first reads the row, so a
decision between the read and the subscription cannot be missed. The row stays the truth: a
notification only wakes the waiter to read it, and a lost one (Redis restarted, a publish that
failed) costs at most ``FALLBACK_POLL_S`` of waiting, never a wrong answer. Without Redis (the
embedded folder broker) waiters poll the row as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)
PREFIX = "civil:decided:"
# With notifications a waiter still reads the row this often, in case one was lost.
FALLBACK_POLL_S = 1.0


def channel(comment_id: int) -> str:
    return f"{PREFIX}{comment_id}"


@lru_cache(maxsize=4)
def _client(url: str) -> Any:
    from civil import redisconn

    # Through redisconn, so a Sentinel-managed Redis is followed across a failover.
    return redisconn.client(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def publish_decided(redis_url: str | None, comment_ids: Iterable[int]) -> None:
    """Wake whoever waits for these comments (one round trip; a failure is only logged)."""
    ids = list(comment_ids)
    if not redis_url or not ids:
        return
    import redis

    try:
        pipe = _client(redis_url).pipeline(transaction=False)
        for comment_id in ids:
            pipe.publish(channel(comment_id), "decided")
        pipe.execute()
    except redis.RedisError as exc:
        log.debug("decision notification not sent (waiters poll): %s", exc)


class Waiter:
    """A subscription to one comment's decision; ``wait(seconds)`` returns when woken or later.

    Falls back to sleeping (the caller polls) when there is no Redis or it cannot subscribe.
    """

    def __init__(self, redis_url: str | None, comment_id: int) -> None:
        self.pubsub: Any = None
        if not redis_url:
            return
        import redis

        try:
            pubsub = _client(redis_url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel(comment_id))
            self.pubsub = pubsub
        except redis.RedisError as exc:
            log.debug("cannot subscribe to decisions (polling): %s", exc)

    @property
    def notified(self) -> bool:
        """Whether a notification can wake this waiter (else the caller polls quickly)."""
        return self.pubsub is not None

    def wait(self, seconds: float) -> bool:
        """Block up to ``seconds`` for the notification; True when it came."""
        import time

        if self.pubsub is None:
            time.sleep(seconds)
            return False
        import redis

        end = time.monotonic() + seconds
        try:
            while (left := end - time.monotonic()) > 0:
                # None for the subscription's own confirmation, or when the time is up.
                message = self.pubsub.get_message(timeout=left)
                if message is not None and message.get("type") == "message":
                    return True
            return False
        except redis.RedisError as exc:
            log.debug("decision subscription lost (polling): %s", exc)
            self.close()
            time.sleep(seconds)
            return False

    def close(self) -> None:
        if self.pubsub is not None:
            try:
                self.pubsub.close()
            except Exception as exc:  # closing a broken connection must not fail the request
                log.debug("closing the decision subscription: %s", exc)
            self.pubsub = None

    def __enter__(self) -> Waiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
