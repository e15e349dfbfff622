"""Drop-in Perspective, Akismet and OpenAI-moderation endpoints (blueprints), see civil/compat."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the three compatible APIs."""
    from service.compat import akismet, moderations, perspective

    for module in (perspective, akismet, moderations):
        app.register_blueprint(module.bp)
