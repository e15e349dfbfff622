"""Domain errors; the HTTP layer maps each to the one error shape."""

from __future__ import annotations

from typing import Any


class CivilError(Exception):
    """An error a client may see: a snake_case code, a message, details, an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.code = code or self.code
        self.status = status or self.status


class NotFound(CivilError):
    status, code = 404, "not_found"


class Unauthorized(CivilError):
    status, code = 401, "unauthorized"


class Forbidden(CivilError):
    status, code = 403, "forbidden"


class InvalidInput(CivilError):
    status, code = 422, "validation_failed"


class Conflict(CivilError):
    status, code = 409, "conflict"


class CallbackRefused(InvalidInput):
    code = "callback_url_refused"
