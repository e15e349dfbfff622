"""GET /v1/sites/{site_id}/comments/{id}: a comment's state and decision."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from civil.comments import comment_view, find_comment
from service.auth import require_site
from service.context import database

bp = Blueprint("comments", __name__)


@bp.get("/v1/sites/<site_id>/comments/<path:comment_id>")
def show(site_id: str, comment_id: str) -> Response:
    """Answer a comment's current status and, once decided, its decision."""
    with database().session() as session:
        require_site(session, site_id)
        return jsonify(comment_view(find_comment(session, site_id, comment_id)))
