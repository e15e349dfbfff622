"""OpenAI-moderation-shaped: POST /v1/moderations with the site's API key as the Bearer token.

Scored like Perspective analyze: synchronously in the API process, nothing stored. The
category mapping and what `flagged` means are in civil/compat/moderation.py.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from civil.compat.moderation import (
    ModerationError,
    moderation_response,
    moderation_result,
    parse_inputs,
)
from civil.decision.policy import Policy
from civil.scoring import ScorerUnavailable
from service.auth import bearer_token
from service.compat.common import key_counter, site_for_key, sync_scorer
from service.context import settings
from service.limits import per_caller

bp = Blueprint("moderations", __name__)


@bp.errorhandler(ModerationError)
def _moderation_error(exc: ModerationError) -> tuple[Response, int]:
    return jsonify(exc.body()), exc.http_status


def render_http_error(exc: HTTPException) -> tuple[Response, int]:
    # E.g. a body over CIVIL_MAX_BODY_BYTES: OpenAI's error shape, not Civil's.
    code = exc.code or 500
    kind = "invalid_request_error" if code < 500 else "server_error"
    error = ModerationError(exc.description or str(exc.name), http_status=code, kind=kind)
    return jsonify(error.body()), code


@bp.errorhandler(RateLimitExceeded)
def _limited(exc: RateLimitExceeded) -> tuple[Response, int]:
    error = ModerationError(
        f"Rate limit reached: {exc.description}", http_status=429, kind="requests"
    )
    return jsonify(error.body()), 429


@bp.post("/v1/moderations")
@per_caller(lambda: key_counter(bearer_token()))
def moderations() -> Response:
    """Classify one text or a list of texts."""
    site = site_for_key(bearer_token())
    if site is None:
        raise ModerationError(
            "Incorrect API key provided: use the site's Civil API key as the Bearer token.",
            http_status=401,
            code="invalid_api_key",
        )
    texts = parse_inputs(request.get_json(silent=True), settings().max_comment_chars)
    try:
        scorer = sync_scorer()
    except ScorerUnavailable:
        raise ModerationError(
            "The moderation model is unavailable.", http_status=503, kind="server_error"
        ) from None
    policy = Policy.from_dict(site.policy)
    results = [
        moderation_result(scores, policy.thresholds, policy.hold_thresholds)
        for scores in scorer.score_batch(texts)
    ]
    return jsonify(moderation_response(f"civil:{scorer.name}", results))
