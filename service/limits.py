"""Rate limits (Flask-Limiter; counters in Redis when Redis is the broker).

A request counts against a site only once its key is known to be that site's: otherwise
anyone could spend a site's quota by posting to its path without a key. Requests without a
valid key (missing, wrong, another site's) count against the client address instead, under
their own, smaller limit, so guessing keys costs a bounded number of key lookups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from civil.redisconn import SENTINEL_SCHEME, parse

# Gives the counter name of the authenticated caller, or None when the request carries no
# valid key; each limited view passes its own.
Authenticated = Callable[[], str | None]

limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")


def init_app(app: Flask) -> None:
    settings = app.extensions["civil"]["settings"]
    # Without Redis the counters are per process: fine for one box, documented in the README.
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(settings.redis_url)
    app.config["RATELIMIT_STORAGE_OPTIONS"] = storage_options(settings.redis_url)
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    # A Redis outage must not turn intake into 500s: count in memory until Redis is back
    # (intake still stores every comment; the sweeper queues them once the broker returns).
    app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    limiter.init_app(app)


def storage_uri(redis_url: str | None) -> str:
    """The limiter's storage: Redis (through Sentinel when the broker is), else memory."""
    if not redis_url:
        return "memory://"
    # `redis+sentinel://h:p,h:p/<master>`: the limiter takes the database as an option.
    return redis_url.split("?", 1)[0] if redis_url.startswith(SENTINEL_SCHEME) else redis_url


def storage_options(redis_url: str | None) -> dict[str, Any]:
    if not redis_url or not redis_url.startswith(SENTINEL_SCHEME):
        return {}
    # Counters are read from the master only: a replica lags, and would under-count.
    return {"db": parse(redis_url).db, "use_replicas": False, "socket_timeout": 1.0}


def intake_limit() -> str:
    from service.context import settings

    return settings().intake_rate_limit


def unauthenticated_limit() -> str:
    from service.context import settings

    return settings().unauthenticated_rate_limit


def memo(name: str, compute: Callable[[], Any]) -> Any:
    """`compute()` once per request: the limiter and the view share one key lookup."""
    cache: dict[str, Any] = g.setdefault("civil_memo", {})
    if name not in cache:
        cache[name] = compute()
    return cache[name]


def per_caller(authenticated: Authenticated) -> Callable[..., Any]:
    """The intake limit per authenticated caller; the unauthenticated limit per address."""

    def key() -> str:
        return authenticated() or f"addr:{get_remote_address()}"

    def value() -> str:
        return intake_limit() if authenticated() else unauthenticated_limit()

    return limiter.limit(value, key_func=key)
