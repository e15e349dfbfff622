"""POST /v1/sites/{site_id}/comments/{id}/feedback: a site says a comment is spam or ham."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import ValidationError

from civil.errors import CivilError, InvalidInput
from civil.feedback import label_comment
from civil.schema import FeedbackIn, validation_errors
from service.auth import require_site
from service.context import database

bp = Blueprint("feedback", __name__)


def _body() -> dict[str, Any]:
    if not request.is_json:
        raise CivilError(
            "send the feedback as application/json",
            {"content_type": request.content_type},
            code="unsupported_media_type",
            status=415,
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise CivilError("request body is not a JSON object", code="invalid_json", status=400)
    return body


@bp.post("/v1/sites/<site_id>/comments/<path:comment_id>/feedback")
def submit(site_id: str, comment_id: str) -> tuple[Response, int]:
    """Store a spam/ham label (Akismet's submit-spam / submit-ham) and learn from it."""
    with database().session() as session:
        require_site(session, site_id)
    try:
        data = FeedbackIn.model_validate(_body())
    except ValidationError as exc:
        details = {"errors": validation_errors(exc)}
        raise InvalidInput("the feedback failed validation", details) from exc
    return jsonify(label_comment(database(), site_id, comment_id, data.label)), 200
