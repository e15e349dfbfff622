"""The OpenAPI 3.1 document of the HTTP API, built from the same pydantic models that validate."""

from __future__ import annotations

from functools import cache
from typing import Any

from civil.schema import CommentIn, FeedbackIn
from service.compat import openapi as compat_openapi
from service.openapi import review_queue as openapi_moderation

ERROR = {"$ref": "#/components/schemas/Error"}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


SITE = {"name": "site_id", "in": "path", "required": True, "schema": {"type": "string"}}
AUTH_ERRORS = {
    "401": _err("missing or wrong API key"),
    "403": _err("another site's path"),
    "404": _err("not found"),
}


def _components() -> dict[str, Any]:
    comment_in = CommentIn.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = comment_in.pop("$defs", {})
    reason = {
        "type": "object",
        "required": ["code", "detail"],
        "properties": {
            "code": {"type": "string", "description": "toxic* for toxicity, spam* for spam"},
            "signals": {
                "type": "array",
                "description": "spam reasons: each signal that fired and its log-odds",
                "items": {
                    "type": "object",
                    "properties": {
                        "signal": {"type": "string"},
                        "family": {"type": "string"},
                        "contribution": {"type": "number"},
                        "detail": {"type": "string"},
                    },
                },
            },
            "discard": {"type": "boolean", "description": "spam_discard: safe to drop"},
            "detail": {"type": "string"},
            "action": {"type": "string", "enum": ["approve", "hold", "reject"]},
            "label": {"type": "string"},
            "score": {"type": "number"},
            "threshold": {"type": "number"},
        },
    }
    decision = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["approve", "hold", "reject"]},
            "decided_by": {"type": "string", "enum": ["auto", "moderator"]},
            "reasons": {"type": "array", "items": reason},
            "scores": {
                "type": "object",
                "properties": {
                    "toxicity": {"type": "object", "additionalProperties": {"type": "number"}},
                    "spam": {"type": ["number", "null"]},
                },
            },
            "model": {"type": "string"},
            "decided_at": {"type": "string", "format": "date-time"},
        },
    }
    state = {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "approved", "held", "rejected"]},
            "revision": {"type": "integer"},
            "decision": {"$ref": "#/components/schemas/Decision"},
            "links": {"type": "object", "properties": {"self": {"type": "string"}}},
        },
    }
    error = {
        "type": "object",
        "required": ["error", "message", "details"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "object"},
        },
    }
    delivery = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "the webhook-id"},
            "type": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "retrying", "delivered", "dead"]},
            "attempts": {"type": "integer"},
            "last_status_code": {"type": ["integer", "null"]},
            "last_error": {"type": ["string", "null"]},
            "log": {"type": "array"},
        },
    }
    return {
        "schemas": {
            **defs,
            "CommentIn": comment_in,
            "Decision": decision,
            "CommentState": state,
            "Error": error,
            "Delivery": delivery,
            "FeedbackIn": FeedbackIn.model_json_schema(),
            "FeedbackOut": {
                "type": "object",
                "required": ["id", "label"],
                "properties": {
                    "id": {"type": "string"},
                    "label": {"type": "string", "enum": ["spam", "ham"]},
                    "source": {"type": "string"},
                    "feedback_id": {"type": "integer"},
                    "recorded_at": {"type": "string", "format": "date-time"},
                },
            },
            **compat_openapi.schemas(),
            **openapi_moderation.components(),
        },
        "securitySchemes": {
            "siteKey": {"type": "http", "scheme": "bearer"},
            "moderatorToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "civmod_… token from `civil moderators create`",
            },
        },
    }


@cache
def spec() -> dict[str, Any]:
    """Build the document once per process."""
    state = {"$ref": "#/components/schemas/CommentState"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Civil",
            "version": "1",
            "description": "Self-hosted comment moderation. Errors always use the Error shape.",
        },
        "security": [{"siteKey": []}],
        "components": _components(),
        "paths": {
            "/v1/sites/{site_id}/comments": {
                "post": {
                    "summary": "Submit or edit a comment",
                    "parameters": [
                        SITE,
                        {
                            "name": "wait",
                            "in": "query",
                            "schema": {"type": "number", "minimum": 0, "maximum": 10},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/CommentIn"}
                            }
                        },
                    },
                    "responses": {
                        "200": _ok("decided (within ?wait, or a replay)", state),
                        "202": _ok("queued", state),
                        "400": _err("not JSON"),
                        "413": _err("body too large"),
                        "415": _err("not JSON"),
                        "422": _err("failed validation"),
                        "429": _err("rate limited"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/v1/sites/{site_id}/comments/{comment_id}": {
                "get": {
                    "summary": "A comment's status and decision",
                    "parameters": [
                        SITE,
                        {
                            "name": "comment_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {"200": _ok("the comment", state), **AUTH_ERRORS},
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
                    "parameters": [
                        SITE,
                        {
                            "name": "comment_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/FeedbackIn"}
                            }
                        },
                    },
                    "responses": {
                        "200": _ok("label stored", {"$ref": "#/components/schemas/FeedbackOut"}),
                        "400": _err("not a JSON object"),
                        "415": _err("not JSON"),
                        "422": _err("label is not spam or ham"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/v1/sites/{site_id}/deliveries": {
                "get": {
                    "summary": "Recent callback deliveries (?status=dead for dead letters)",
                    "parameters": [
                        SITE,
                        {"name": "status", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": _ok("deliveries", {"type": "object"}), **AUTH_ERRORS},
                }
            },
            "/v1/sites/{site_id}/deliveries/{event_id}": {
                "get": {
                    "summary": "One delivery with its attempt log",
                    "parameters": [
                        SITE,
                        {
                            "name": "event_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": _ok("delivery", {"$ref": "#/components/schemas/Delivery"}),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/v1/sites/{site_id}/deliveries/{event_id}/replay": {
                "post": {
                    "summary": "Deliver an event again with the same webhook-id",
                    "parameters": [
                        SITE,
                        {
                            "name": "event_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "202": _ok("queued", {"$ref": "#/components/schemas/Delivery"}),
                        **AUTH_ERRORS,
                    },
                }
            },
            **openapi_moderation.paths(),
            "/healthz": {
                "get": {
                    "security": [],
                    "summary": "Alive",
                    "responses": {"200": _ok("alive", {"type": "object"})},
                }
            },
            "/readyz": {
                "get": {
                    "security": [],
                    "summary": "Database, broker, worker, models",
                    "responses": {
                        "200": _ok("ready", {"type": "object"}),
                        "503": _err("not ready"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "security": [],
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {"description": "text format", "content": {"text/plain": {}}}
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "security": [],
                    "summary": "This document",
                    "responses": {"200": _ok("OpenAPI", {"type": "object"})},
                }
            },
            **compat_openapi.paths(),
        },
    }
