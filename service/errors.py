"""One error shape for every non-2xx JSON body: {"error", "message", "details"}."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from civil.errors import CivilError

log = logging.getLogger("civil.api")


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    response = jsonify({"error": code, "message": message, "details": details or {}})
    response.status_code = status
    return response


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
            429, "rate_limited", "too many requests for this site", {"limit": str(exc.description)}
        )
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        name = _snake(exc.name or "error")
        response = error_response(code, name, exc.description or exc.name or "error")
        for header in ("Allow", "Retry-After"):
            if exc.get_response().headers.get(header):
                response.headers[header] = exc.get_response().headers[header]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Exception text never reaches a client; it goes to the log with the traceback.
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error")
