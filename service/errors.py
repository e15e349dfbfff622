"""One error shape for every non-2xx JSON body: {"error", "message", "details"}."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException, InternalServerError

from civil.errors import CivilError
from civil.schema import Error

log = logging.getLogger("civil.api")

# Paths that imitate another API answer its errors in that API's shape, even when no view
# of theirs ran (an unknown path or method under their prefix, an unexpected failure).
ForeignRenderer = Callable[[HTTPException], Any]


def foreign_errors(app: Flask, prefix: str, render: ForeignRenderer) -> None:
    """Render HTTP errors under ``prefix`` with ``render`` instead of Civil's error shape."""
    app.extensions.setdefault("civil_foreign_errors", []).append((prefix, render))


def _foreign(app: Flask, exc: HTTPException) -> Any | None:
    for prefix, render in app.extensions.get("civil_foreign_errors", []):
        if request.path.startswith(prefix):
            return render(exc)
    return None


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    response = jsonify(Error(error=code, message=message, details=details or {}).wire())
    response.status_code = status
    return response


def _stack(exc: BaseException) -> str:
    """Where it failed: each chained exception's type and frames, never its message.

    A message may quote the data at hand (a database error lists its parameters: an author's
    e-mail, a comment's text), and personal data must not reach the log.
    """
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 10:
        kind = type(current)
        parts.append(f"{kind.__module__}.{kind.__qualname__}\n")
        parts.extend(traceback.format_tb(current.__traceback__))
        current = current.__cause__ or current.__context__
    return "".join(parts)


def _snake(name: str) -> str:
    return name.lower().replace(" ", "_").replace("-", "_").replace("'", "")


def init_app(app: Flask) -> None:
    """Register the handlers that turn every failure into the error shape."""

    @app.errorhandler(CivilError)
    def _civil(exc: CivilError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(RateLimitExceeded)
    def _limited(exc: RateLimitExceeded) -> Response:
        response = error_response(
            429, "rate_limited", "too many requests", {"limit": str(exc.description)}
        )
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        foreign = _foreign(app, exc)
        if foreign is not None:
            return foreign
        code = exc.code or 500
        name = _snake(exc.name or "error")
        response = error_response(code, name, exc.description or exc.name or "error")
        for header in ("Allow", "Retry-After"):
            if exc.get_response().headers.get(header):
                response.headers[header] = exc.get_response().headers[header]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        # Exception text reaches neither the client nor the log: the type, the frames, the route.
        log.error(
            "unhandled %s",
            type(exc).__name__,
            extra={"method": request.method, "endpoint": request.endpoint, "stack": _stack(exc)},
        )
        foreign = _foreign(app, InternalServerError("internal error"))
        if foreign is not None:
            return foreign
        return error_response(500, "internal_error", "internal error")
