"""The compatible endpoints' part of /openapi.json (merged in by service/openapi.py).

They answer in the shapes of the APIs they imitate, not Civil's Error shape, so each
documents its own error body.
"""

from __future__ import annotations

from typing import Any

from civil.compat import akismet
from civil.compat.moderation import CATEGORY_SOURCES
from civil.compat.perspective import ATTRIBUTES


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _text(description: str, *values: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if values:
        schema["enum"] = list(values)
    return {"description": description, "content": {"text/plain": {"schema": schema}}}


REF = "#/components/schemas/"
GOOGLE_ERROR = {"$ref": REF + "PerspectiveError"}
OPENAI_ERROR = {"$ref": REF + "OpenAIError"}
PERSPECTIVE_KEY = {
    "name": "key",
    "in": "query",
    "required": True,
    "description": "the site's Civil API key",
    "schema": {"type": "string"},
}
AKISMET_FIELDS = ["api_key", *akismet.FIELDS]


def schemas() -> dict[str, Any]:
    score = {"type": "object", "properties": {"value": {"type": "number"}, "type": {}}}
    attribute_scores = {
        "type": "object",
        "properties": {
            "summaryScore": score,
            "spanScores": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "begin": {"type": "integer"},
                        "end": {"type": "integer"},
                        "score": score,
                    },
                },
            },
        },
    }
    text_entry = {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string"}, "type": {"enum": ["PLAIN_TEXT", "HTML"]}},
    }
    languages = {"type": "array", "items": {"type": "string"}}
    akismet_form = {
        "type": "object",
        "required": ["blog", "user_ip"],
        "properties": {name: {"type": "string"} for name in AKISMET_FIELDS},
        "additionalProperties": {"type": "string", "description": "the honeypot field named"},
    }
    return {
        "AnalyzeCommentRequest": {
            "type": "object",
            "required": ["comment", "requestedAttributes"],
            "properties": {
                "comment": text_entry,
                "requestedAttributes": {
                    "type": "object",
                    "propertyNames": {"enum": list(ATTRIBUTES)},
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "scoreType": {"enum": ["PROBABILITY"]},
                            "scoreThreshold": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                },
                "languages": languages,
                "doNotStore": {"type": "boolean"},
                "spanAnnotations": {"type": "boolean"},
                "clientToken": {"type": "string"},
            },
        },
        "AnalyzeCommentResponse": {
            "type": "object",
            "properties": {
                "attributeScores": {"type": "object", "additionalProperties": attribute_scores},
                "languages": languages,
                "detectedLanguages": languages,
                "clientToken": {"type": "string"},
            },
        },
        "SuggestCommentScoreRequest": {
            "type": "object",
            "required": ["comment", "attributeScores"],
            "properties": {
                "comment": text_entry,
                "attributeScores": {"type": "object", "additionalProperties": attribute_scores},
                "languages": languages,
                "clientToken": {"type": "string"},
            },
        },
        "PerspectiveError": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "integer"},
                        "message": {"type": "string"},
                        "status": {"type": "string"},
                        "details": {"type": "array", "items": {"type": "object"}},
                    },
                }
            },
        },
        "AkismetFields": akismet_form,
        "AkismetVerifyKey": {
            "type": "object",
            "required": ["key", "blog"],
            "properties": {"key": {"type": "string"}, "blog": {"type": "string"}},
        },
        "ModerationRequest": {
            "type": "object",
            "required": ["input"],
            "properties": {
                "input": {
                    "oneOf": [
                        {"type": "string"},
                        {"type": "array", "items": {"type": "string"}},
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"type": {"const": "text"}, "text": {}},
                            },
                        },
                    ]
                },
                "model": {"type": "string", "description": "accepted and ignored"},
            },
        },
        "ModerationResponse": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "model": {"type": "string"},
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "flagged": {
                                "type": "boolean",
                                "description": (
                                    "a label reached the site's hold or reject threshold:"
                                    " a worker would hold or reject the text"
                                ),
                            },
                            "categories": {
                                "type": "object",
                                "propertyNames": {"enum": list(CATEGORY_SOURCES)},
                            },
                            "category_scores": {"type": "object"},
                            "category_applied_input_types": {"type": "object"},
                        },
                    },
                },
            },
        },
        "OpenAIError": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                        "param": {"type": ["string", "null"]},
                        "code": {"type": ["string", "null"]},
                    },
                }
            },
        },
    }


def _akismet(summary: str, ok: dict[str, Any], schema: str = "AkismetFields") -> dict[str, Any]:
    form = {"$ref": REF + schema}
    return {
        "post": {
            "tags": ["akismet"],
            "security": [],
            "summary": summary,
            "description": "Key in the body (`api_key` or `key`) or as the Host's first label.",
            "requestBody": {
                "content": {
                    "application/x-www-form-urlencoded": {"schema": form},
                    "application/json": {"schema": form},
                }
            },
            "responses": {"200": ok, "429": _text("rate limited")},
        }
    }


def _perspective(summary: str, request: str, response: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "tags": ["perspective"],
            "security": [],
            "summary": summary,
            "parameters": [PERSPECTIVE_KEY],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": REF + request}}},
            },
            "responses": {
                "200": _json("answer", response),
                "400": _json("bad request, unknown attribute, language, or key", GOOGLE_ERROR),
                "403": _json("missing key", GOOGLE_ERROR),
                "429": _json("rate limited", GOOGLE_ERROR),
                "503": _json("model unavailable", GOOGLE_ERROR),
            },
        }
    }


def paths() -> dict[str, Any]:
    verdict = _text(
        "`true` (spam; `X-akismet-pro-tip: discard` for the discard tier), `false`, or "
        "`invalid` with `X-akismet-debug-help`. `X-Civil-Verdict`: decision | provisional | "
        "test; `X-Civil-Comment-Id`: the stored comment's id.",
        "true",
        "false",
        "invalid",
    )
    thanks = _text("stored as a feedback label", "Thanks for making the web a better place.")
    return {
        "/v1alpha1/comments:analyze": _perspective(
            "Perspective-compatible scoring (nothing stored)",
            "AnalyzeCommentRequest",
            {"$ref": REF + "AnalyzeCommentResponse"},
        ),
        "/v1alpha1/comments:suggestscore": _perspective(
            "Perspective-compatible correction, stored as a toxicity feedback label",
            "SuggestCommentScoreRequest",
            {"type": "object"},
        ),
        "/$discovery/rest": {
            "get": {
                "tags": ["perspective"],
                "security": [],
                "summary": "Google discovery document of commentanalyzer v1alpha1",
                "parameters": [{"name": "version", "in": "query", "schema": {"const": "v1alpha1"}}],
                "responses": {"200": _json("discovery document", {"type": "object"})},
            }
        },
        "/1.1/comment-check": _akismet("Akismet-compatible check (stores the comment)", verdict),
        "/1.1/submit-spam": _akismet("Akismet-compatible spam report", thanks),
        "/1.1/submit-ham": _akismet("Akismet-compatible ham report", thanks),
        "/1.1/verify-key": _akismet(
            "Akismet-compatible key check",
            _text("key check", "valid", "invalid"),
            "AkismetVerifyKey",
        ),
        "/1.2/usage-limit": _akismet(
            "Akismet-compatible usage (Civil sets no limit)",
            _json("usage", {"type": "object"}),
        ),
        "/v1/moderations": {
            "post": {
                "tags": ["openai"],
                "summary": "OpenAI-moderation-shaped classification (nothing stored)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": REF + "ModerationRequest"}}
                    },
                },
                "responses": {
                    "200": _json("results", {"$ref": REF + "ModerationResponse"}),
                    "400": _json("bad input", OPENAI_ERROR),
                    "401": _json("wrong key", OPENAI_ERROR),
                    "429": _json("rate limited", OPENAI_ERROR),
                    "503": _json("model unavailable", OPENAI_ERROR),
                },
            }
        },
    }
