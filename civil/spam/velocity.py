"""How fast an author, an IP and a link domain are posting on a site.

With Redis (``CIVIL_BROKER_URL=redis://…``) each counter is a sorted set of comment ids scored
by arrival time: adding the same comment twice (a redelivered task) changes nothing, and every
API and worker process shares the counts. Without Redis (``civil run``'s embedded broker) the
same windows are counted in the comments table.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civil.models import Comment

log = logging.getLogger(__name__)

AUTHOR_WINDOW = timedelta(minutes=10)
IP_WINDOW = timedelta(minutes=10)
DOMAIN_WINDOW = timedelta(hours=1)
PREFIX = "civil:spam:v"
REDIS_RETRY_AFTER = 30.0  # seconds without trying Redis after it failed
_redis_down_until: dict[str, float] = {}  # url -> time.monotonic() to try it again


@dataclass(frozen=True)
class Subject:
    """One comment's identity for velocity: who, from where, linking what, and when."""

    site_id: str
    comment_id: int
    author_id: int | None
    ip: str | None
    domains: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class Velocity:
    """Other comments in each window (the comment itself never counts)."""

    author: int = 0
    ip: int = 0
    domain: int = 0  # the busiest of the comment's link domains


@lru_cache(maxsize=4)
def _client(url: str) -> Any:
    from civil.redisconn import client

    # Through Sentinel when the broker is: the counters follow a failover to the new master.
    return client(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def _series(subject: Subject) -> list[tuple[str, timedelta, str]]:
    base = f"{PREFIX}:{subject.site_id}"
    series = []
    if subject.author_id is not None:
        series.append(("author", AUTHOR_WINDOW, f"{base}:author:{subject.author_id}"))
    if subject.ip:
        series.append(("ip", IP_WINDOW, f"{base}:ip:{subject.ip}"))
    series += [("domain", DOMAIN_WINDOW, f"{base}:domain:{d}") for d in subject.domains[:5]]
    return series


def redis_velocity(url: str, subject: Subject) -> Velocity:
    """Record the comment in its counters and count the others, in one round trip."""
    series = _series(subject)
    if not series:
        return Velocity()
    now = subject.at.timestamp()
    pipe = _client(url).pipeline(transaction=False)
    for _, window, key in series:
        start = now - window.total_seconds()
        pipe.zadd(key, {str(subject.comment_id): now})
        # Trim only well behind the window: comments may be scored a little out of order.
        pipe.zremrangebyscore(key, "-inf", start - window.total_seconds())
        pipe.zcount(key, start, now)
        pipe.expire(key, int(window.total_seconds() * 2) + 60)
    replies = pipe.execute()
    counts: dict[str, int] = {"author": 0, "ip": 0, "domain": 0}
    for index, (kind, _, _) in enumerate(series):
        others = max(int(replies[index * 4 + 2]) - 1, 0)
        counts[kind] = max(counts[kind], others)
    return Velocity(**counts)


def db_velocity(session: Session, subject: Subject) -> Velocity:
    """The same counts from the comments table (no Redis)."""

    def others(since: timedelta, *where: Any) -> int:
        stmt = (
            select(func.count())
            .select_from(Comment)
            .where(
                Comment.site_id == subject.site_id,
                Comment.id != subject.comment_id,
                Comment.received_at >= subject.at - since,
                Comment.received_at <= subject.at,
                *where,
            )
        )
        return int(session.scalar(stmt) or 0)

    author = others(AUTHOR_WINDOW, Comment.author_id == subject.author_id)
    ip = others(IP_WINDOW, Comment.ip == subject.ip) if subject.ip else 0
    domain = max(
        (others(DOMAIN_WINDOW, Comment.content.contains(d)) for d in subject.domains[:5]),
        default=0,
    )
    return Velocity(author if subject.author_id is not None else 0, ip, domain)


def measure(session: Session, subject: Subject, redis_url: str | None) -> Velocity:
    """Redis counters when configured (falling back to the database if Redis fails).

    After a failure Redis is left alone for ``REDIS_RETRY_AFTER``: an unreachable server
    would otherwise cost every comment of a batch its own connect timeout.
    """
    if redis_url and time.monotonic() >= _redis_down_until.get(redis_url, 0.0):
        try:
            return redis_velocity(redis_url, subject)
        except Exception as exc:  # a Redis hiccup must not stop scoring
            _redis_down_until[redis_url] = time.monotonic() + REDIS_RETRY_AFTER
            log.warning("spam velocity counters unavailable, counting in the database: %s", exc)
    return db_velocity(session, subject)


def forget(url: str | None, site_id: str, author_ids: list[int], ips: list[str]) -> int:
    """Delete an author's and their IPs' counters from Redis (an erasure); how many existed.

    The IP is part of the key's name, so the whole counter goes (its other members are
    comment ids, which the next comments from that address rebuild within the window).
    """
    if not url:
        return 0
    base = f"{PREFIX}:{site_id}"
    keys = [f"{base}:author:{a}" for a in author_ids] + [f"{base}:ip:{ip}" for ip in ips]
    if not keys:
        return 0
    return int(_client(url).delete(*keys))
