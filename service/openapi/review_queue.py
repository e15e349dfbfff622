"""The moderator API's part of /openapi.json (merged into the document by service.openapi)."""

from __future__ import annotations

from typing import Any

from civil.moderation.actions import ACTIONS, BULK_ACTIONS, REJECT_REASONS
from civil.moderation.queue import REASONS, SORTS, VIEWS

ERROR = {"$ref": "#/components/schemas/Error"}
SECURITY = [{"moderatorToken": []}]


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


FILTER = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "view": {"type": "string", "enum": list(VIEWS), "default": "held"},
        "reason": {"type": "string", "enum": list(REASONS)},
        "site_id": {"type": "string"},
        "article": {"type": "string", "description": "the site's article id"},
        "author": {"type": "string", "description": "the site's author id"},
        "ip": {"type": "string"},
        "q": {"type": "string", "description": "case-insensitive substring of the text"},
        "since": {"type": "string", "format": "date-time"},
        "until": {"type": "string", "format": "date-time"},
        "sort": {
            "type": "string",
            "enum": list(SORTS),
            "description": "default: oldest first; newest decided first in approved/rejected",
        },
    },
}
ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "description": "Civil's comment id (use it in /actions)"},
        "comment_id": {"type": "string", "description": "the site's comment id"},
        "site_id": {"type": "string"},
        "status": {"type": "string"},
        "content": {"type": "string"},
        "highlight_spans": {
            "type": "array",
            "description": "[start, end) character offsets that drove the toxicity score",
            "items": {"type": "array", "items": {"type": "integer"}},
        },
        "inline_quote": {"type": ["string", "null"]},
        "article": {"type": ["object", "null"]},
        "parent": {"type": ["object", "null"]},
        "author": {
            "type": ["object", "null"],
            "description": "counts, recent_rejection_rate, first_seen_at, standing",
        },
        "scores": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "score": {"type": "number"},
                    "hold": {"type": ["number", "null"]},
                    "reject": {"type": ["number", "null"]},
                    "crossed": {"type": ["string", "null"], "enum": ["hold", "reject", None]},
                },
            },
        },
        "reasons": {"type": "array", "items": {"type": "object"}},
        "decision": {"$ref": "#/components/schemas/Decision"},
        "claimed_by": {"type": ["string", "null"]},
    },
}
ACTION_IN = {
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {"type": "string", "enum": [*ACTIONS, "claim", "release"]},
        "reason": {
            "type": "string",
            "enum": list(REJECT_REASONS),
            "description": "required for reject",
        },
        "note": {"type": "string", "maxLength": 2000},
        "site_id": {"type": "string", "description": "makes {id} the site's comment id"},
        "expect_status": {
            "type": "string",
            "description": "the status you saw; another status now answers 409 changed",
        },
    },
}
OUTCOME = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "comment_id": {"type": "string"},
        "site_id": {"type": "string"},
        "action": {"type": "string"},
        "before": {"type": "string"},
        "status": {"type": "string"},
        "events": {"type": "array", "items": {"type": "string"}},
        "labels": {"type": "array", "items": {"type": "string"}},
    },
}
BULK_IN = {
    "type": "object",
    "required": ["action", "filter"],
    "properties": {
        "filter": FILTER,
        "action": {"type": "string", "enum": list(BULK_ACTIONS)},
        "reason": {"type": "string", "enum": list(REJECT_REASONS)},
        "note": {"type": "string"},
        "dry_run": {"type": "boolean", "default": True},
        "expected": {
            "type": "integer",
            "description": "the dry run's count; a different count now answers 409",
        },
    },
}
BULK_OUT = {
    "type": "object",
    "properties": {
        "dry_run": {"type": "boolean"},
        "matched": {"type": "integer"},
        "applied": {"type": "integer"},
        "skipped": {"type": "array", "items": {"type": "object"}},
        "bulk_id": {"type": ["string", "null"]},
    },
}
AUTH = {"401": _err("missing or wrong moderator token")}


def components() -> dict[str, Any]:
    return {"QueueFilter": FILTER, "QueueItem": ITEM, "ModeratorAction": ACTION_IN}


def paths() -> dict[str, Any]:
    filters = [
        {"name": name, "in": "query", "schema": schema}
        for name, schema in FILTER["properties"].items()  # type: ignore[attr-defined]
    ]
    page = [
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
    ]
    return {
        "/v1/queue": {
            "get": {
                "summary": "The moderation queue (keyset paging: follow next_cursor)",
                "security": SECURITY,
                "parameters": filters + page,
                "responses": {
                    "200": _json(
                        "a page",
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": ITEM},
                                "next_cursor": {"type": ["string", "null"]},
                            },
                        },
                    ),
                    "422": _err("unknown filter value"),
                    **AUTH,
                },
            }
        },
        "/v1/comments/{id}/actions": {
            "post": {
                "summary": "Act on a comment as a moderator (audited, sent as comment.moderated)",
                "security": SECURITY,
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "Civil's id, or the site's id together with site_id",
                    },
                    {"name": "site_id", "in": "query", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ACTION_IN}},
                },
                "responses": {
                    "200": _json("done", OUTCOME),
                    "404": _err("no such comment on this moderator's sites"),
                    "409": _err("claimed by another moderator, or changed meanwhile"),
                    "415": _err("not JSON"),
                    "422": _err("unknown action or missing reason"),
                    **AUTH,
                },
            }
        },
        "/v1/queue/bulk": {
            "post": {
                "summary": "Dry-run count, then apply one action to everything a filter matches",
                "security": SECURITY,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": BULK_IN}},
                },
                "responses": {
                    "200": _json("counted or applied", BULK_OUT),
                    "409": _err("the count changed since the dry run"),
                    "422": _err("bad filter or action, or more than 5000 matches"),
                    **AUTH,
                },
            }
        },
    }
