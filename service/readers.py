"""Readers and authors: reports, appeals, and an author's erasure (all with the site's key)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from civil.metrics import ERASURES
from civil.moderation.appeals import file_appeal
from civil.moderation.reports import report_comment
from civil.privacy.erasure import erase_author, erasure_view, find_erasure
from civil.schema import AppealIn, AppealOut, ReportIn
from service.auth import require_site
from service.broker import send_deliveries
from service.context import database, parse_body

bp = Blueprint("readers", __name__)


@bp.post("/v1/sites/<site_id>/comments/<path:comment_id>/reports")
def report(site_id: str, comment_id: str) -> tuple[Response, int]:
    """A reader flags a comment; at the site's threshold an approved comment is held."""
    with database().session() as session:
        require_site(session, site_id)
    data = parse_body(ReportIn, "the report")
    with database().session() as session:
        site = require_site(session, site_id)
        outcome = report_comment(session, site, comment_id, data)
        body = outcome.to_dict()
    # After the commit: the hold's comment.decided is in the outbox already.
    send_deliveries(outcome.event_ids)
    return jsonify(body), 202


@bp.post("/v1/sites/<site_id>/comments/<path:comment_id>/appeals")
def appeal(site_id: str, comment_id: str) -> tuple[Response, int]:
    """The author asks for another look at a held or rejected comment."""
    with database().session() as session:
        require_site(session, site_id)
    # The body is optional: an empty one is an appeal without a note.
    data = parse_body(AppealIn, "the appeal") if request.get_data() else AppealIn()
    with database().session() as session:
        site = require_site(session, site_id)
        filed = file_appeal(session, site, comment_id, data)
        body = AppealOut(appeal_id=filed.id, status="open").wire()
    return jsonify(body), 201


@bp.delete("/v1/sites/<site_id>/authors/<path:author_id>")
def erase(site_id: str, author_id: str) -> tuple[Response, int]:
    """Erase an author: their comments, labels, reports, appeals, reputation, callbacks."""
    with database().session() as session:
        require_site(session, site_id)
    erasure = erase_author(database(), site_id, author_id)
    ERASURES.inc()
    return jsonify(erasure_view(erasure)), 202


@bp.get("/v1/sites/<site_id>/erasures/<erasure_id>")
def show_erasure(site_id: str, erasure_id: str) -> Response:
    """Where an erasure stands, with the counts of what it removed."""
    with database().session() as session:
        require_site(session, site_id)
        return jsonify(erasure_view(find_erasure(session, site_id, erasure_id)))
