"""The site API's and ops paths of /openapi.json; every body refers to a generated component."""

from __future__ import annotations

from typing import Any, get_args

from civil.schema.responses import DeliveryStatus
from service.openapi.components import ref


def err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def path_param(name: str, description: str | None = None) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "path", "required": True}
    if description:
        param["description"] = description
    return {**param, "schema": {"type": "string"}}


def json_body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(name)}}}


SITE = path_param("site_id")
COMMENT = path_param("comment_id", "the site's comment id")
EVENT = path_param("event_id", "the webhook-id")
AUTH_ERRORS = {
    "401": err("missing or wrong API key"),
    "403": err("another site's path"),
    "404": err("not found"),
}
BODY_ERRORS = {
    "400": err("not a JSON object"),
    "413": err("body too large"),
    "415": err("not JSON"),
    "422": err("failed validation"),
}


def site_paths() -> dict[str, Any]:
    state = ref("CommentState")
    delivery = ref("Delivery")
    return {
        "/v1/sites/{site_id}/comments": {
            "post": {
                "summary": "Submit or edit a comment",
                "parameters": [
                    SITE,
                    {
                        "name": "wait",
                        "in": "query",
                        "description": "seconds to wait for the decision, counted from when "
                        "the API gets the request: 200 with it if made in time, else 202",
                        "schema": {"type": "number", "minimum": 0, "maximum": 10},
                    },
                ],
                "requestBody": json_body("CommentIn"),
                "responses": {
                    "200": ok("decided (within ?wait, or a replay)", state),
                    "202": ok("queued", state),
                    **BODY_ERRORS,
                    "429": err("rate limited"),
                    **AUTH_ERRORS,
                },
            }
        },
        "/v1/sites/{site_id}/comments/{comment_id}": {
            "get": {
                "summary": "A comment's status and decision",
                "parameters": [SITE, COMMENT],
                "responses": {"200": ok("the comment", state), **AUTH_ERRORS},
            }
        },
        "/v1/sites/{site_id}/comments/{comment_id}/feedback": {
            "post": {
                "summary": "Label a comment spam or ham (Akismet submit-spam/submit-ham)",
                "description": (
                    "Stored as the site's label; the site's domain reputation and "
                    "near-duplicate index learn from it at once, and `civil models "
                    "train-spam` retrains with it. Never used for another site."
                ),
                "parameters": [SITE, COMMENT],
                "requestBody": json_body("FeedbackIn"),
                "responses": {
                    "200": ok("label stored", ref("FeedbackOut")),
                    **BODY_ERRORS,
                    **AUTH_ERRORS,
                },
            }
        },
        **reader_paths(),
        **policy_paths(),
        "/v1/sites/{site_id}/deliveries": {
            "get": {
                "summary": "Recent callback deliveries (?status=dead for dead letters)",
                "parameters": [
                    SITE,
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(get_args(DeliveryStatus))},
                    },
                ],
                "responses": {
                    "200": ok("deliveries, newest first", ref("DeliveryList")),
                    "422": err("unknown status"),
                    **AUTH_ERRORS,
                },
            }
        },
        "/v1/sites/{site_id}/deliveries/{event_id}": {
            "get": {
                "summary": "One delivery with its attempt log",
                "parameters": [SITE, EVENT],
                "responses": {"200": ok("delivery", delivery), **AUTH_ERRORS},
            }
        },
        "/v1/sites/{site_id}/deliveries/{event_id}/replay": {
            "post": {
                "summary": "Deliver an event again with the same webhook-id",
                "parameters": [SITE, EVENT],
                "description": "The replay is committed before it is queued: `202` even when the "
                "broker is down (`queued: false`), since the dispatcher sends committed "
                "deliveries on its own.",
                "responses": {
                    "202": ok("replay committed", ref("ReplayedDelivery")),
                    **AUTH_ERRORS,
                },
            }
        },
    }


def reader_paths() -> dict[str, Any]:
    conflict = err("the comment is not held or rejected, or already has an open appeal")
    erasure = ref("ErasureOut")
    return {
        "/v1/sites/{site_id}/comments/{comment_id}/reports": {
            "post": {
                "summary": "A reader reports a comment",
                "description": (
                    "Stored once per (comment, reporter_id): the same reporter again is a "
                    "no-op. An approved comment whose unsettled reports reach the policy's "
                    "`report_hold_threshold` (reporters weighted by how often moderators "
                    "upheld them, see the README) becomes `held` with reason `reported`, and "
                    "the site gets `comment.decided` with `decided_by: reports`. A report is "
                    "never a spam label."
                ),
                "parameters": [SITE, COMMENT],
                "requestBody": json_body("ReportIn"),
                "responses": {
                    "202": ok("report stored (or already there)", ref("ReportOut")),
                    **BODY_ERRORS,
                    **AUTH_ERRORS,
                },
            }
        },
        "/v1/sites/{site_id}/comments/{comment_id}/appeals": {
            "post": {
                "summary": "The author appeals a held or rejected comment",
                "description": (
                    "A moderator answers it in the workspace's Appeals view; the answer reaches "
                    "the site as `comment.appeal_decided` (`data.appeal`), and as "
                    "`comment.moderated` when the comment's status changes (overturned: "
                    "approved; upheld on a held comment: rejected). The body may be empty."
                ),
                "parameters": [SITE, COMMENT],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": ref("AppealIn")}},
                },
                "responses": {
                    "201": ok("appeal opened", ref("AppealOut")),
                    "409": conflict,
                    **BODY_ERRORS,
                    **AUTH_ERRORS,
                },
            }
        },
        "/v1/sites/{site_id}/authors/{author_id}": {
            "delete": {
                "summary": "Erase an author (GDPR art. 17)",
                "description": (
                    "Deletes or anonymises every comment, label, report, appeal, reputation "
                    "entry, fingerprint, velocity counter and callback payload holding the "
                    "author's content or personal data; audit entries keep ids and actions with "
                    "their notes cleared. Runs at once: the answer is usually `done`."
                ),
                "parameters": [SITE, path_param("author_id", "the site's author id")],
                "responses": {"202": ok("erasure recorded", erasure), **AUTH_ERRORS},
            }
        },
        "/v1/sites/{site_id}/erasures/{erasure_id}": {
            "get": {
                "summary": "An erasure's status and counts",
                "parameters": [SITE, path_param("erasure_id")],
                "responses": {"200": ok("the erasure", erasure), **AUTH_ERRORS},
            }
        },
    }


def policy_paths() -> dict[str, Any]:
    window = [
        {"name": name, "in": "query", "description": text, "schema": {"type": "string"}}
        for name, text in (
            ("since", "an RFC 3339 time or a span back from now: 90m, 24h (default), 7d"),
            ("until", "an RFC 3339 time or a span (default: now)"),
            ("candidate", "an earlier candidate's id (default: the running one)"),
        )
    ]
    return {
        "/v1/sites/{site_id}/policy": {
            "get": {
                "summary": "The live policy, its version, and the shadow candidate",
                "parameters": [SITE],
                "responses": {"200": ok("the policy", ref("PolicyState")), **AUTH_ERRORS},
            },
            "patch": {
                "summary": "Change the policy: a new version with who, when, why, the diff",
                "description": (
                    "`changes` merge over the live policy: top-level settings replace, "
                    "`articles` and `sections` overrides merge per article or section (null "
                    "removes one). Each decision names the `policy_version` that made it."
                ),
                "parameters": [SITE],
                "requestBody": json_body("PolicyChangeIn"),
                "responses": {
                    "200": ok("the new policy", ref("PolicyState")),
                    **BODY_ERRORS,
                    **AUTH_ERRORS,
                },
            },
        },
        "/v1/sites/{site_id}/policy/versions": {
            "get": {
                "summary": "Every policy version, newest first",
                "parameters": [SITE],
                "responses": {"200": ok("the history", ref("PolicyHistory")), **AUTH_ERRORS},
            }
        },
        "/v1/sites/{site_id}/shadow/report": {
            "get": {
                "summary": "How the shadow candidate's decisions differ from the live ones",
                "parameters": [SITE, *window],
                "responses": {
                    "200": ok("the report", ref("ShadowReport")),
                    "422": err("a bad window"),
                    **AUTH_ERRORS,
                },
            }
        },
        "/v1/sites/{site_id}/shadow/promote": {
            "post": {
                "summary": "Make the shadow candidate's policy live (a new, audited version)",
                "parameters": [SITE],
                "responses": {"200": ok("promoted", ref("Promoted")), **AUTH_ERRORS},
            }
        },
        "/v1/sites/{site_id}/calibration": {
            "get": {
                "summary": "Precision and volume against threshold from the site's moderators",
                "parameters": [
                    SITE,
                    {
                        "name": "target",
                        "in": "query",
                        "description": "the precision proposals aim for (default: the policy's)",
                        "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                    },
                ],
                "responses": {
                    "200": ok("per label: the curve and proposals", ref("Calibration")),
                    "422": err("a bad target"),
                    **AUTH_ERRORS,
                },
            }
        },
    }


def ops_paths() -> dict[str, Any]:
    return {
        "/healthz": {
            "get": {
                "security": [],
                "summary": "Alive",
                "responses": {"200": ok("alive", ref("Alive"))},
            }
        },
        "/readyz": {
            "get": {
                "security": [],
                "summary": "Database, broker, worker, models",
                "responses": {"200": ok("ready", ref("Ready")), "503": err("not ready")},
            }
        },
        "/metrics": {
            "get": {
                "security": [],
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "security": [],
                "summary": "This document",
                "responses": {"200": ok("OpenAPI 3.1", {"type": "object"})},
            }
        },
    }
