"""POST /v1/sites/{site_id}/comments: authenticate, validate, store, commit, enqueue, answer."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from civil.comments import await_decision, submit_comment
from civil.errors import CivilError, InvalidInput
from civil.logs import bind
from civil.metrics import INTAKE
from civil.schema import CommentIn
from service.auth import require_site, site_counter
from service.broker import enqueue_scoring
from service.context import database, parse_body, seconds_since_arrival, settings
from service.limits import per_caller

bp = Blueprint("intake", __name__)
log = logging.getLogger("civil.api")
MAX_WAIT_S = 10.0


def check_length(content: str) -> None:
    """Refuse a comment longer than the configured ``max_comment_chars``."""
    limit = settings().max_comment_chars
    if len(content) > limit:
        raise InvalidInput(
            f"content is longer than {limit} characters",
            {"length": len(content), "limit": limit},
            code="comment_too_long",
        )


def _parse() -> CommentIn:
    data = parse_body(CommentIn, "the comment")
    check_length(data.content)
    return data


def _wait_seconds() -> float:
    raw = request.args.get("wait")
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput("wait must be a number of seconds", {"wait": raw}) from None
    if not 0 <= value <= MAX_WAIT_S:
        raise InvalidInput(f"wait must be between 0 and {MAX_WAIT_S:g}", {"wait": raw})
    return value


@bp.post("/v1/sites/<site_id>/comments")
@per_caller(site_counter)
def submit(site_id: str) -> tuple[Response, int]:
    """Store a comment (or an edit) and queue it for scoring."""
    if site_counter() != f"site:{site_id}":
        # The rate limiter's lookup (shared through the request's memo) did not find this
        # site's key: say why (401 or 403). When it did, the key is not looked up twice.
        with database().session() as session:
            require_site(session, site_id)
    try:
        data = _parse()
        wait = _wait_seconds()
    except CivilError as exc:
        INTAKE.labels(f"refused_{exc.code}").inc()
        raise
    submitted = submit_comment(database(), site_id, data)
    INTAKE.labels(submitted.outcome).inc()
    with bind(comment_id=submitted.comment_id, site_id=site_id, external_id=data.id):
        log.info("comment %s", submitted.outcome, extra={"revision": submitted.revision})
        if submitted.needs_scoring:
            enqueue_scoring(submitted.comment_id, submitted.revision)
    view = submitted.view
    if view is None or (wait > 0 and view["status"] == "pending"):
        # The wait counts from when the request reached the app, not from here.
        view = await_decision(
            database(),
            site_id,
            data.id,
            max(0.0, wait - seconds_since_arrival()) if wait > 0 else 0.0,
            redis_url=settings().redis_url,
            comment_id=submitted.comment_id,
        )
    # Decided (a replay of a decided comment, or ready within ?wait) answers 200; else 202.
    return jsonify(view), 200 if view["status"] != "pending" else 202
