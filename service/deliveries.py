"""A site's callback deliveries: list them, read one's log, replay one."""

from __future__ import annotations

from typing import get_args

from flask import Blueprint, Response, jsonify, request

from civil.delivery.events import attempts_of, event_view, list_events, replay_event
from civil.errors import InvalidInput, NotFound
from civil.models import Event
from civil.schema.responses import DeliveryStatus
from service.auth import require_site
from service.broker import send_deliveries
from service.context import database

bp = Blueprint("deliveries", __name__)
STATUSES = set(get_args(DeliveryStatus))


@bp.get("/v1/sites/<site_id>/deliveries")
def index(site_id: str) -> Response:
    """List recent deliveries, newest first; ?status=dead shows the dead letters."""
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidInput("unknown status", {"status": status, "allowed": sorted(STATUSES)})
    with database().session() as session:
        require_site(session, site_id)
        events = list_events(session, site_id=site_id, status=status, limit=200)
        return jsonify({"deliveries": [event_view(e) for e in events]})


@bp.get("/v1/sites/<site_id>/deliveries/<event_id>")
def show(site_id: str, event_id: str) -> Response:
    """One delivery with its attempt log."""
    with database().session() as session:
        require_site(session, site_id)
        event = session.get(Event, event_id)
        if event is None or event.site_id != site_id:
            raise NotFound("no such delivery", {"event_id": event_id})
        return jsonify(event_view(event, attempts_of(session, event_id)))


@bp.post("/v1/sites/<site_id>/deliveries/<event_id>/replay")
def replay(site_id: str, event_id: str) -> tuple[Response, int]:
    """Send a delivery again (same webhook-id) with a fresh retry window."""
    with database().session() as session:
        require_site(session, site_id)
        view = event_view(replay_event(session, event_id, site_id))
    # Committed first: a broker outage only delays the send (the dispatcher picks it up).
    queued = send_deliveries([event_id])
    message = (
        "queued" if queued else "committed; the broker is unreachable, the dispatcher will send it"
    )
    return jsonify({**view, "queued": queued, "message": message}), 202
