"""The moderator JSON API: GET /v1/queue, POST /v1/comments/{id}/actions, POST /v1/queue/bulk.

Authenticated with a moderator token (`Authorization: Bearer civmod_…`), not a site key.
`{id}` is Civil's own comment id (the `id` of a queue item); with `?site_id=S` (or `site_id`
in the body) it is the site's comment id instead.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from civil.errors import InvalidInput
from civil.moderation import accounts as moderators
from civil.moderation import actions, claims, queue, review
from civil.moderation.accounts import Identity
from service.auth import bearer_token
from service.broker import send_deliveries
from service.context import database, json_object

bp = Blueprint("queue_api", __name__)


def _identity(session: Any) -> Identity:
    return moderators.by_token(session, bearer_token())


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string", {"field": key})
    return value or None


@bp.get("/v1/queue", endpoint="queue")
def list_queue() -> Response:
    """A page of the review queue (same views and filters as the workspace)."""
    args = request.args.to_dict()
    cursor, raw_limit = args.pop("cursor", None), args.pop("limit", "25")
    if not raw_limit.isdigit():
        raise InvalidInput("limit must be a whole number", {"limit": raw_limit})
    flt = queue.QueueFilter.parse(args)
    with database().session() as session:
        who = _identity(session)
        rows, next_cursor = queue.queue_page(session, who, flt, cursor, int(raw_limit))
        items = [review.queue_item_json(review.item_view(session, c, full=False)) for c in rows]
        return jsonify({"items": items, "next_cursor": next_cursor, "filter": flt.to_dict()})


@bp.post("/v1/comments/<comment_id>/actions", endpoint="actions")
def comment_action(comment_id: str) -> Response:
    """Act on one comment: approve, reject (reason), spam, not_spam, trust, premoderate, ban…"""
    body = json_object("the request")
    action = _text(body, "action") or ""
    site_id = request.args.get("site_id") or _text(body, "site_id")
    with database().session() as session:
        who = _identity(session)
        if site_id:
            internal = queue.comment_by_external_id(session, who, site_id, comment_id)
        elif comment_id.isdigit():
            internal = int(comment_id)
        else:
            raise InvalidInput(
                "the id is Civil's numeric id; pass site_id to use the site's comment id",
                {"id": comment_id},
            )
        if action in ("claim", "release"):
            if action == "claim":
                until = claims.claim(session, who, internal)
                return jsonify({"id": internal, "claimed_until": until.isoformat()})
            queue.visible_comment(session, who, internal)
            claims.release(session, who, internal)
            return jsonify({"id": internal, "released": True})
        outcome = actions.act(
            session,
            who,
            internal,
            action,
            _text(body, "reason"),
            _text(body, "note"),
            expect_status=_text(body, "expect_status"),
        )
    # After the commit: the events are already in the outbox.
    send_deliveries(outcome.event_ids)
    return jsonify(outcome.to_dict())


@bp.post("/v1/queue/bulk", endpoint="bulk")
def bulk_action() -> Response:
    """Count (dry_run, the default) or apply one action to everything a filter matches."""
    body = json_object("the request")
    raw_filter = body.get("filter") or {}
    if not isinstance(raw_filter, dict):
        raise InvalidInput("filter must be an object", {"field": "filter"})
    dry_run = body.get("dry_run", True)
    expected = body.get("expected")
    if not isinstance(dry_run, bool) or (expected is not None and not isinstance(expected, int)):
        raise InvalidInput("dry_run is a boolean and expected an integer")
    flt = queue.QueueFilter.parse(raw_filter)
    with database().session() as session:
        who = _identity(session)
        result = actions.bulk(
            session,
            who,
            flt,
            _text(body, "action") or "",
            _text(body, "reason"),
            _text(body, "note"),
            dry_run=dry_run,
            expected=expected,
        )
        out = result.to_dict()
    send_deliveries(out["event_ids"])
    return jsonify(out)
