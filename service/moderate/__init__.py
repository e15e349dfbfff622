"""The moderator workspace: server-rendered pages under /moderate (session login + CSRF)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from civil.settings import Settings
from service.moderate.views import bp

csrf = CSRFProtect()

__all__ = ["bp", "csrf", "init_app"]


def secret_key(settings: Settings) -> str:
    """The configured key, or one generated once and shared by every process via data_dir."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        # Created 0600 from the start: the key is never readable by anyone else, even briefly.
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            # link() is atomic and refuses to overwrite: concurrent processes agree on one key.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return Path(path).read_text().strip()


def init_app(app: Flask) -> None:
    """Sessions, CSRF and the blueprint."""
    settings: Settings = app.extensions["civil"]["settings"]
    app.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_NAME="civil_session",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # The JSON API (Bearer tokens) and site intake need no CSRF token: only the
        # workspace's forms are checked, by the blueprint itself.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=12 * 3600,
    )
    csrf.init_app(app)
    app.register_blueprint(bp)


# The reports and appeals pages add their routes to the same blueprint.
from service.moderate import readers as _readers  # noqa: E402,F401
