"""The worker's Redis transport: kombu's, with a late ack on a released connection made harmless.

With late acks, a task that finishes while the consumer is reconnecting after a lost broker
schedules the ack of its message on the old channel. By the time the event loop runs it, the
consumer has released that connection: the channel dropped its pool and the transport's
`client` is None, so rebuilding the pool dies in `_connparams` with
`AttributeError: 'NoneType' object has no attribute 'hostname'`, an error Celery does not
treat as a connection error, and the worker exits. Raised as a Redis ConnectionError instead,
the ack fails the way any ack on a lost connection fails: logged, and the message comes back
after the visibility timeout (tasks are idempotent; the sweeper covers a Redis that lost it).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


def _check_released(channel: Any) -> None:
    if channel.connection is None or channel.connection.client is None:
        raise RedisConnectionError("channel of a released broker connection")


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> Any:
        _check_released(self)
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel


class SentinelChannel(kombu_redis.SentinelChannel):
    """The same guard for `sentinel://` brokers: after a failover every consumer reconnects,
    and a late ack on the channel it left must fail as a connection error too."""

    def _connparams(self, asynchronous: bool = False) -> Any:
        _check_released(self)
        return super()._connparams(asynchronous=asynchronous)


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel
