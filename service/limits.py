"""Per-site rate limits on intake (Flask-Limiter; counters in Redis when Redis is the broker)."""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter

limiter = Limiter(
    key_func=lambda: f"site:{(request.view_args or {}).get('site_id', '-')}",
    headers_enabled=True,
    strategy="moving-window",
)


def init_app(app: Flask) -> None:
    settings = app.extensions["civil"]["settings"]
    # Without Redis the counters are per process: fine for one box, documented in the README.
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    # A Redis outage must not turn intake into 500s: count in memory until Redis is back
    # (intake still stores every comment; the sweeper queues them once the broker returns).
    app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    limiter.init_app(app)


def intake_limit() -> str:
    from service.context import settings

    return settings().intake_rate_limit
