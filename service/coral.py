"""POST /v1/sites/{site_id}/coral: Coral Talk's External Moderation Phase for one site.

Verify the signature over the raw bytes -> store the comment (an EDIT is a new revision)
-> commit -> queue it -> wait for the decision until just before Coral's timeout -> answer
Coral's status, flags and rejection reason, or 204 so Coral carries on without Civil.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, jsonify, request

from civil import coral
from civil.comments import await_decision, submit_comment
from civil.errors import CivilError
from civil.logs import bind
from civil.metrics import INTAKE
from civil.schema.coral import CoralRequest
from civil.sites import get_site
from service.broker import enqueue_scoring
from service.context import database, seconds_since_arrival
from service.intake import check_length
from service.limits import memo, per_caller

bp = Blueprint("coral", __name__)
log = logging.getLogger("civil.api")


def _verified_site() -> float:
    """Check the path's site and the signature; the seconds left to wait for a decision."""
    site_id = (request.view_args or {})["site_id"]
    with database().session() as session:
        site = get_site(session, site_id)
        coral.verify(
            site, request.get_data(cache=True), request.headers.get(coral.SIGNATURE_HEADER)
        )
        return coral.wait_seconds(site)


def coral_counter() -> str | None:
    """Rate-limit a correctly signed request per site; anything else per address."""

    def lookup() -> str | None:
        try:
            _verified_site()
        except CivilError:
            return None
        return "site:" + (request.view_args or {})["site_id"]

    return memo("coral_counter", lookup)


def _parse() -> CoralRequest:
    try:
        raw = json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError):
        raise CivilError("request body is not JSON", code="invalid_json", status=400) from None
    return coral.parse_request(raw)


@bp.post("/v1/sites/<site_id>/coral")
@per_caller(coral_counter)
def moderate(site_id: str) -> tuple[Response, int] | Response:
    """Moderate a comment Coral is about to publish."""
    budget = _verified_site()
    req = _parse()
    with database().session() as session:
        external_id = coral.comment_id(session, site_id, req)
    data = coral.to_comment(req, external_id)
    check_length(data.content)
    submitted = submit_comment(database(), site_id, data)
    INTAKE.labels(submitted.outcome).inc()
    with bind(comment_id=submitted.comment_id, site_id=site_id, external_id=external_id):
        log.info("coral comment %s", submitted.outcome, extra={"action": req.action})
        if submitted.needs_scoring:
            enqueue_scoring(submitted.comment_id, submitted.revision)
    # Coral's clock runs from when the app got the request (the limit check included).
    left = max(budget - seconds_since_arrival(), 0.0)
    view = await_decision(database(), site_id, external_id, left)
    answer = coral.answer(view)
    if answer is None:
        # Not decided in time: Coral reads 204 as "no opinion" and carries on; the comment
        # stays in Civil's queue and is decided there as usual.
        return Response(status=204)
    return jsonify(answer), 200
