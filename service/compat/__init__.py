"""Drop-in Perspective, Akismet and OpenAI-moderation endpoints (blueprints), see civil/compat."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the three compatible APIs."""
    from service.compat import akismet, moderations, perspective
    from service.errors import foreign_errors

    for module in (perspective, akismet, moderations):
        app.register_blueprint(module.bp)
    # Every HTTP error under their prefixes (a body too large inside a view, an unknown path
    # or method, an unexpected failure) answers in that API's own shape: one mechanism.
    foreign_errors(app, "/v1alpha1/", perspective.render_http_error)
    foreign_errors(app, "/$discovery/", perspective.render_http_error)
    foreign_errors(app, "/1.1/", akismet.render_http_error)
    foreign_errors(app, "/1.2/", akismet.render_http_error)
    foreign_errors(app, "/v1/moderations", moderations.render_http_error)
