"""POST /v1/sites/{site_id}/comments/{id}/feedback: a site says a comment is spam or ham."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from pydantic import ValidationError

from civil.errors import InvalidInput
from civil.feedback import label_comment
from civil.schema import FeedbackIn, validation_errors
from service.auth import require_site
from service.context import database, json_object

bp = Blueprint("feedback", __name__)


@bp.post("/v1/sites/<site_id>/comments/<path:comment_id>/feedback")
def submit(site_id: str, comment_id: str) -> tuple[Response, int]:
    """Store a spam/ham label (Akismet's submit-spam / submit-ham) and learn from it."""
    with database().session() as session:
        require_site(session, site_id)
    try:
        data = FeedbackIn.model_validate(json_object("the feedback"))
    except ValidationError as exc:
        details = {"errors": validation_errors(exc)}
        raise InvalidInput("the feedback failed validation", details) from exc
    return jsonify(label_comment(database(), site_id, comment_id, data.label)), 200
