"""The HTTP API: `create_app(settings)` builds it; gunicorn serves it."""

from __future__ import annotations

from flask import Flask

from civil.db import Database
from civil.logs import configure_logging
from civil.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app for these settings (from the environment when None)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["civil"] = {"settings": settings, "db": Database(settings)}

    from service import (
        admin,
        comments,
        compat,
        connection,
        context,
        coral,
        deliveries,
        errors,
        feedback,
        guard,
        intake,
        limits,
        moderate,
        ops,
        policy,
        readers,
        review_queue,
    )
    from service import broker as queue

    errors.init_app(app)
    guard.init_app(app)
    connection.init_app(app)
    queue.init_app(app)
    limits.init_app(app)
    for module in (
        intake,
        comments,
        feedback,
        deliveries,
        ops,
        readers,
        review_queue,
        coral,
        admin,
        policy,
    ):
        app.register_blueprint(module.bp)
    compat.init_app(app)
    moderate.init_app(app)
    # Outermost, so it is the first to see a request (the ?wait= clock starts there).
    context.stamp_arrival(app)
    return app
