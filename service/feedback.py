"""POST /v1/sites/{site_id}/comments/{id}/feedback: a site says a comment is spam or ham."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from civil.feedback import label_comment
from civil.schema import FeedbackIn
from service.auth import require_site
from service.context import database, parse_body

bp = Blueprint("feedback", __name__)


@bp.post("/v1/sites/<site_id>/comments/<path:comment_id>/feedback")
def submit(site_id: str, comment_id: str) -> tuple[Response, int]:
    """Store a spam/ham label (Akismet's submit-spam / submit-ham) and learn from it."""
    with database().session() as session:
        require_site(session, site_id)
    data = parse_body(FeedbackIn, "the feedback")
    return jsonify(label_comment(database(), site_id, comment_id, data.label)), 200
