"""Perspective-compatible: /v1alpha1/comments:analyze, :suggestscore and the discovery document.

Analyze scores in the API process with its own lazily loaded model (`sync_toxicity_model`,
see service/compat/common.py) and stores nothing, as Perspective's `doNotStore` asks and as
a per-keystroke "is this toxic?" call wants: a round trip through the queue and a worker
would add latency and rows for text that may never be posted.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from civil.compat.discovery import discovery_document
from civil.compat.perspective import (
    PerspectiveError,
    analyze_response,
    invalid_key,
    missing_key,
    parse_analyze,
    parse_suggest,
    sentence_spans,
    suggest_response,
)
from civil.feedback import record_toxicity_label
from civil.scoring import ScorerUnavailable
from service.compat.common import KeyedSite, key_counter, site_for_key, sync_scorer
from service.context import database, settings
from service.limits import per_caller

bp = Blueprint("perspective", __name__)
VERSION = "v1alpha1"


def _key() -> str | None:
    return request.args.get("key") or request.headers.get("X-Goog-Api-Key")


def _site() -> KeyedSite:
    key = _key()
    if not key:
        raise missing_key()
    site = site_for_key(key)
    if site is None:
        raise invalid_key()
    return site


def _languages() -> tuple[str, ...]:
    return tuple(tag.strip().lower() for tag in settings().compat_languages.split(",") if tag)


@bp.errorhandler(PerspectiveError)
def _perspective_error(exc: PerspectiveError) -> tuple[Response, int]:
    return jsonify(exc.body()), exc.http_status


def render_http_error(exc: HTTPException) -> tuple[Response, int]:
    # E.g. a body over CIVIL_MAX_BODY_BYTES: Google's error shape, not Civil's.
    error = PerspectiveError(exc.description or str(exc.name), http_status=exc.code or 500)
    return jsonify(error.body()), error.http_status


@bp.errorhandler(RateLimitExceeded)
def _limited(exc: RateLimitExceeded) -> tuple[Response, int]:
    error = PerspectiveError(f"Quota exceeded: {exc.description}.", http_status=429)
    return jsonify(error.body()), 429


@bp.get("/$discovery/rest")
def discovery() -> tuple[Response, int]:
    """The discovery document google-api-python-client builds its client from."""
    if request.args.get("version", VERSION) != VERSION:
        error = PerspectiveError("Requested entity was not found.", http_status=404)
        return jsonify(error.body()), 404
    return jsonify(discovery_document(request.host_url)), 200


@bp.post(f"/{VERSION}/comments:analyze")
@per_caller(lambda: key_counter(_key()))
def analyze() -> Response:
    """Score a text for the requested attributes; nothing is stored."""
    _site()
    parsed = parse_analyze(
        request.get_json(silent=True),
        max_chars=settings().max_comment_chars,
        supported=_languages(),
    )
    try:
        scorer = sync_scorer()
    except ScorerUnavailable:
        raise PerspectiveError("The scoring model is unavailable.", http_status=503) from None
    text = parsed.text
    spans = sentence_spans(text) if parsed.span_annotations else []
    # One model call for the whole text and every sentence.
    scores = scorer.score_batch([text] + [text[begin:end] for begin, end in spans])
    summary = scores[0]
    span_scores = [(b, e, s) for (b, e), s in zip(spans, scores[1:], strict=True)]
    return jsonify(analyze_response(parsed, summary, span_scores or [(0, len(text), summary)]))


@bp.post(f"/{VERSION}/comments:suggestscore")
@per_caller(lambda: key_counter(_key()))
def suggestscore() -> Response:
    """Store the suggested scores as the site's toxicity feedback labels."""
    site = _site()
    parsed = parse_suggest(
        request.get_json(silent=True),
        max_chars=settings().max_comment_chars,
        supported=_languages(),
    )
    with database().session() as session:
        for label, value in parsed.labels.items():
            record_toxicity_label(session, site.site_id, parsed.text, label, value, "perspective")
    return jsonify(suggest_response(parsed))
