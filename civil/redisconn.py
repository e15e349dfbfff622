"""Redis clients for what Civil keeps in Redis besides the queue: plain URLs and Sentinel.

Spam velocity counters, rate-limit counters and the broker health probes talk to Redis
directly, so when the broker is Redis behind Sentinel they must follow a failover as the
Celery transport does. `Settings.redis_url` renders a Sentinel broker URL
(`sentinel://h1:26379;sentinel://h2:26379/0` plus `CIVIL_BROKER_MASTER_NAME`) in the one form
used here and by the rate limiter (`redis+sentinel://h1:26379,h2:26379/<master>?db=0`);
`client()` turns either form into a redis-py client bound to the current master.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel://"


@dataclass(frozen=True)
class SentinelTarget:
    """Sentinels to ask, the master's name, and the database and password on that master."""

    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    db: int = 0
    password: str | None = None

    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"{SENTINEL_SCHEME}{auth}{hosts}/{self.master_name}?db={self.db}"


def from_kombu_url(url: str, master_name: str) -> SentinelTarget:
    """`sentinel://[:pw@]host:port[/db];sentinel://host:port…` (kombu's form) as a target."""
    sentinels, db, password = [], 0, None
    for part in url.split(";"):
        parsed = urlsplit(part.strip())
        if parsed.scheme != "sentinel" or not parsed.hostname:
            raise ValueError(f"not a sentinel:// URL: {part!r}")
        sentinels.append((parsed.hostname, parsed.port or 26379))
        if parsed.path.strip("/"):
            db = int(parsed.path.strip("/"))
        if parsed.password:
            password = unquote(parsed.password)
    if not master_name:
        raise ValueError("a sentinel:// broker needs CIVIL_BROKER_MASTER_NAME")
    return SentinelTarget(tuple(sentinels), master_name, db, password)


def parse(url: str) -> SentinelTarget:
    """The target of a `redis+sentinel://` URL."""
    parsed = urlsplit(url)
    auth, _, hosts = parsed.netloc.rpartition("@")
    password = unquote(auth.partition(":")[2]) if auth else None
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.rpartition(":")
        sentinels.append((host or item, int(port) if host else 26379))
    db = int(parse_qs(parsed.query).get("db", ["0"])[0])
    return SentinelTarget(tuple(sentinels), parsed.path.strip("/"), db, password or None)


def client(url: str, **options: Any) -> Any:
    """A redis-py client for `url`: plain `redis://` / `rediss://`, or a Sentinel-managed master.

    A Sentinel client asks the sentinels for the master on every new connection and drops its
    connections when the master it reached has become a replica, so it follows a failover.
    """
    import redis
    from redis.sentinel import Sentinel

    if not url.startswith(SENTINEL_SCHEME):
        return redis.Redis.from_url(url, **options)
    target = parse(url)
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    sentinel = Sentinel(
        list(target.sentinels),
        sentinel_kwargs=timeouts,  # the password, if any, is the master's
        password=target.password,
        **options,
    )
    return sentinel.master_for(target.master_name, db=target.db)
