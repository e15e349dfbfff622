"""The moderator API's paths of /openapi.json (its bodies are generated components)."""

from __future__ import annotations

from typing import Any

from service.openapi.components import queue_filter_parameters, ref
from service.openapi.paths import err, json_body, ok

SECURITY = [{"moderatorToken": []}]
AUTH = {"401": err("missing or wrong moderator token")}
BODY_ERRORS = {
    "400": err("not a JSON object"),
    "413": err("body too large"),
    "415": err("not JSON"),
}


def paths() -> dict[str, Any]:
    page = [
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
    ]
    return {
        "/v1/queue": {
            "get": {
                "summary": "The moderation queue (keyset paging: follow next_cursor)",
                "security": SECURITY,
                "parameters": queue_filter_parameters() + page,
                "responses": {
                    "200": ok("a page", ref("QueuePage")),
                    "422": err("unknown filter value"),
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
                "requestBody": json_body("ModeratorAction"),
                "responses": {
                    "200": ok(
                        "done (claim and release answer their own shapes)",
                        {"anyOf": [ref("ActionOutcome"), ref("Claimed"), ref("Released")]},
                    ),
                    **BODY_ERRORS,
                    "404": err("no such comment on this moderator's sites"),
                    "409": err("claimed by another moderator, or changed meanwhile"),
                    "422": err("unknown action or missing reason"),
                    **AUTH,
                },
            }
        },
        "/v1/queue/bulk": {
            "post": {
                "summary": "Dry-run count, then apply one action to everything a filter matches",
                "security": SECURITY,
                "requestBody": json_body("BulkAction"),
                "responses": {
                    "200": ok("counted or applied", ref("BulkResult")),
                    **BODY_ERRORS,
                    "409": err("the count changed since the dry run"),
                    "422": err("bad filter or action, or more than 5000 matches"),
                    **AUTH,
                },
            }
        },
    }
