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
from civil.schema import (
    BulkAction,
    Claimed,
    ModeratorAction,
    QueueItem,
    QueuePage,
    Released,
)
from service.auth import bearer_token
from service.broker import send_deliveries
from service.context import database, parse_body

bp = Blueprint("queue_api", __name__)


def _identity(session: Any) -> Identity:
    return moderators.by_token(session, bearer_token())


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
        items = [review.item_view(session, c, full=False) for c in rows]
        page = QueuePage(
            items=[QueueItem.model_validate(review.queue_item_json(i)) for i in items],
            next_cursor=next_cursor,
            filter=flt.to_dict(),
        )
        return jsonify(page.wire())


# The rule's variable is the documented {id}: clients generated from /openapi.json name it so.
@bp.post("/v1/comments/<id>/actions", endpoint="actions")
def comment_action(id: str) -> Response:
    """Act on one comment: approve, reject (reason), spam, not_spam, trust, premoderate, ban…"""
    body = parse_body(ModeratorAction)
    site_id = request.args.get("site_id") or body.site_id
    with database().session() as session:
        who = _identity(session)
        if site_id:
            internal = queue.comment_by_external_id(session, who, site_id, id)
        elif id.isdigit():
            internal = int(id)
        else:
            raise InvalidInput(
                "the id is Civil's numeric id; pass site_id to use the site's comment id",
                {"id": id},
            )
        if body.action == "claim":
            until = claims.claim(session, who, internal)
            return jsonify(Claimed(id=internal, claimed_until=until.isoformat()).wire())
        if body.action == "release":
            queue.visible_comment(session, who, internal)
            claims.release(session, who, internal)
            return jsonify(Released(id=internal, released=True).wire())
        outcome = actions.act(
            session,
            who,
            internal,
            body.action,
            body.reason,
            body.note,
            expect_status=body.expect_status,
        )
    # After the commit: the events are already in the outbox.
    send_deliveries(outcome.event_ids)
    return jsonify(outcome.to_dict())


@bp.post("/v1/queue/bulk", endpoint="bulk")
def bulk_action() -> Response:
    """Count (dry_run, the default) or apply one action to everything a filter matches."""
    body = parse_body(BulkAction)
    flt = queue.QueueFilter(**body.filter.model_dump(exclude_none=True))
    with database().session() as session:
        who = _identity(session)
        result = actions.bulk(
            session,
            who,
            flt,
            body.action,
            body.reason,
            body.note,
            dry_run=body.dry_run,
            expected=body.expected,
        )
        out = result.to_dict()
    send_deliveries(out["event_ids"])
    return jsonify(out)
