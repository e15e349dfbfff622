"""Accessors for the per-app objects views need."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from civil.db import Database
from civil.errors import CivilError, InvalidInput
from civil.schema import validation_errors
from civil.settings import Settings


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
