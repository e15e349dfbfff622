"""The Google API discovery document of `commentanalyzer` v1alpha1, rooted at this server.

`googleapiclient.discovery.build("commentanalyzer", "v1alpha1", discoveryServiceUrl=...)`
reads it and builds `comments().analyze()` / `comments().suggestscore()` calls against
`rootUrl`, so the root must be the URL the client reached Civil at.
"""

from __future__ import annotations

from typing import Any

from civil.compat.perspective import ATTRIBUTES

_STRING = {"type": "string"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": name}


def _schemas() -> dict[str, Any]:
    score: dict[str, Any] = {
        "id": "Score",
        "type": "object",
        "properties": {"value": {"type": "number", "format": "float"}, "type": _STRING},
    }
    span = {
        "id": "SpanScore",
        "type": "object",
        "properties": {
            "begin": {"type": "integer", "format": "int32"},
            "end": {"type": "integer", "format": "int32"},
            "score": _ref("Score"),
        },
    }
    attribute_scores = {
        "id": "AttributeScores",
        "type": "object",
        "properties": {
            "summaryScore": _ref("Score"),
            "spanScores": {"type": "array", "items": _ref("SpanScore")},
        },
    }
    text_entry = {
        "id": "TextEntry",
        "type": "object",
        "properties": {"text": _STRING, "type": {"type": "string", "enum": ["PLAIN_TEXT", "HTML"]}},
    }
    parameters = {
        "id": "AttributeParameters",
        "type": "object",
        "properties": {
            "scoreType": _STRING,
            "scoreThreshold": {"type": "number", "format": "float"},
        },
    }
    languages = {"type": "array", "items": _STRING}
    analyze_request = {
        "id": "AnalyzeCommentRequest",
        "type": "object",
        "description": "Attributes served: " + ", ".join(ATTRIBUTES),
        "properties": {
            "comment": _ref("TextEntry"),
            "requestedAttributes": {
                "type": "object",
                "additionalProperties": _ref("AttributeParameters"),
            },
            "languages": languages,
            "doNotStore": {"type": "boolean"},
            "spanAnnotations": {"type": "boolean"},
            "clientToken": _STRING,
            "sessionId": _STRING,
            "communityId": _STRING,
        },
    }
    analyze_response = {
        "id": "AnalyzeCommentResponse",
        "type": "object",
        "properties": {
            "attributeScores": {
                "type": "object",
                "additionalProperties": _ref("AttributeScores"),
            },
            "languages": languages,
            "detectedLanguages": languages,
            "clientToken": _STRING,
        },
    }
    suggest_request = {
        "id": "SuggestCommentScoreRequest",
        "type": "object",
        "properties": {
            "comment": _ref("TextEntry"),
            "attributeScores": {
                "type": "object",
                "additionalProperties": _ref("AttributeScores"),
            },
            "languages": languages,
            "clientToken": _STRING,
            "sessionId": _STRING,
            "communityId": _STRING,
        },
    }
    suggest_response = {
        "id": "SuggestCommentScoreResponse",
        "type": "object",
        "properties": {
            "requestedLanguages": languages,
            "detectedLanguages": languages,
            "clientToken": _STRING,
        },
    }
    found = [
        score,
        span,
        attribute_scores,
        text_entry,
        parameters,
        analyze_request,
        analyze_response,
        suggest_request,
        suggest_response,
    ]
    return {str(schema["id"]): schema for schema in found}


def _method(name: str, description: str, request: str, response: str) -> dict[str, Any]:
    path = f"v1alpha1/comments:{name}"
    return {
        "id": f"commentanalyzer.comments.{name}",
        "path": path,
        "flatPath": path,
        "httpMethod": "POST",
        "description": description,
        "parameters": {},
        "parameterOrder": [],
        "request": _ref(request),
        "response": _ref(response),
    }


def discovery_document(root_url: str) -> dict[str, Any]:
    """The discovery document with every call going to `root_url` (ending in '/')."""
    query = {"type": "string", "location": "query"}
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": "commentanalyzer:v1alpha1",
        "name": "commentanalyzer",
        "version": "v1alpha1",
        "title": "Perspective Comment Analyzer API (served by Civil)",
        "description": "Civil's Perspective-compatible comment analyzer.",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "parameters": {
            "key": {**query, "description": "the site's Civil API key"},
            "alt": {**query, "default": "json", "enum": ["json"]},
            "fields": query,
            "prettyPrint": {"type": "boolean", "location": "query", "default": "true"},
            "quotaUser": query,
            "$.xgafv": {**query, "enum": ["1", "2"]},
        },
        "schemas": _schemas(),
        "resources": {
            "comments": {
                "methods": {
                    "analyze": _method(
                        "analyze",
                        "Score a text for the requested attributes.",
                        "AnalyzeCommentRequest",
                        "AnalyzeCommentResponse",
                    ),
                    "suggestscore": _method(
                        "suggestscore",
                        "Store corrected scores as the site's feedback labels.",
                        "SuggestCommentScoreRequest",
                        "SuggestCommentScoreResponse",
                    ),
                }
            }
        },
    }
