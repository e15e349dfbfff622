"""Accessors for the per-app objects views need."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from pydantic import BaseModel, ValidationError

from civil.db import Database
from civil.errors import CivilError, InvalidInput
from civil.schema import validation_errors
from civil.settings import Settings

# The WSGI environ key holding when the app first saw the request (time.monotonic()).
ARRIVED = "civil.arrived"


def stamp_arrival(app: Flask) -> None:
    """Note in each request's environ when the app got it, before any hook or limit runs.

    A caller's ``?wait=`` is counted from there, so the rate limit, the store and the enqueue
    come out of the wait rather than on top of it. (Time spent in the server's listen backlog,
    before the app sees the request, is not visible here.)
    """
    inner = app.wsgi_app

    def stamped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ[ARRIVED] = time.monotonic()
        return inner(environ, start_response)

    app.wsgi_app = stamped  # type: ignore[method-assign]


def seconds_since_arrival() -> float:
    """How long ago the app got the current request (0 outside one stamped by the app)."""
    arrived = request.environ.get(ARRIVED)
    return 0.0 if arrived is None else max(0.0, time.monotonic() - arrived)


def settings() -> Settings:
    return current_app.extensions["civil"]["settings"]


def database() -> Database:
    return current_app.extensions["civil"]["db"]


def json_object(what: str = "the request") -> dict[str, Any]:
    """The request's JSON object body, or a 415/400 in the one error shape."""
    if not request.is_json:
        raise CivilError(
            f"send {what} as application/json",
            {"content_type": request.content_type},
            code="unsupported_media_type",
            status=415,
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise CivilError("request body is not a JSON object", code="invalid_json", status=400)
    return body


Model = TypeVar("Model", bound=BaseModel)


def parse_body(model: type[Model], what: str = "the request") -> Model:
    """The JSON object body validated by ``model``; a 422 naming each failing field."""
    try:
        return model.model_validate(json_object(what))
    except ValidationError as exc:
        raise InvalidInput(f"{what} failed validation", {"errors": validation_errors(exc)}) from exc
