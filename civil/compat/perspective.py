"""Perspective (`commentanalyzer` v1alpha1): its requests and answers, over Civil's labels.

Civil scores Detoxify's six labels; five Perspective attributes are the same quantity under
another name and PROFANITY is Detoxify's `obscene`. Any other attribute (SEXUALLY_EXPLICIT,
FLIRTATION, the *_EXPERIMENTAL ones...) is refused with Perspective's own 400 body rather
than answered with a made-up score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from civil.decision.rules import plain_text

# Perspective attribute -> the Civil (Detoxify) label that scores it.
ATTRIBUTES: dict[str, str] = {
    "TOXICITY": "toxicity",
    "SEVERE_TOXICITY": "severe_toxicity",
    "IDENTITY_ATTACK": "identity_attack",
    "INSULT": "insult",
    "PROFANITY": "obscene",
    "THREAT": "threat",
}
LABEL_ATTRIBUTE = {label: attribute for attribute, label in ATTRIBUTES.items()}
ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
TEXT_TYPES = {"PLAIN_TEXT": "text/plain", "HTML": "text/html"}
MAX_SPANS = 100  # span scores per analyze call, at most (see sentence_spans)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_LETTER = re.compile(r"[^\W\d_]")


class PerspectiveError(Exception):
    """A failure answered in Google's error shape: {"error": {code, message, status, details}}."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int = 400,
        error_type: str | None = None,
        extra: dict[str, Any] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.http_status = message, http_status
        self.error_type, self.extra = error_type, extra or {}
        self.details = details or []

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.http_status,
            "message": self.message,
            "status": STATUS_NAMES.get(self.http_status, "UNKNOWN"),
        }
        details = list(self.details)
        if self.error_type:
            details.insert(0, {"@type": ERROR_TYPE, "errorType": self.error_type, **self.extra})
        if details:
            error["details"] = details
        return {"error": error}


def missing_key() -> PerspectiveError:
    return PerspectiveError("The request is missing a valid API key.", http_status=403)


def invalid_key() -> PerspectiveError:
    # Google's body for a wrong key carries an ErrorInfo whose reason clients match on.
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "commentanalyzer.googleapis.com"},
    }
    return PerspectiveError(
        "API key not valid. Please pass a valid API key.", http_status=400, details=[info]
    )


@dataclass(frozen=True)
class AnalyzeRequest:
    """An AnalyzeCommentRequest, checked: the text to score and what to answer."""

    text: str  # what the models read: HTML tags blanked, offsets kept
    attributes: dict[str, float | None]  # attribute -> scoreThreshold
    languages: list[str]
    detected: list[str]
    span_annotations: bool = False
    client_token: str | None = None
    do_not_store: bool = False
    sent: str = ""  # comment.text as sent: span offsets are UTF-16 offsets into it


@dataclass(frozen=True)
class SuggestRequest:
    """A SuggestCommentScoreRequest: a text and the scores someone says it deserves."""

    text: str
    labels: dict[str, float] = field(default_factory=dict)  # Civil label -> value 0..1
    languages: list[str] = field(default_factory=list)
    detected: list[str] = field(default_factory=list)
    client_token: str | None = None


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PerspectiveError(f"Invalid JSON payload: '{name}' must be an object.")
    return value


def _sent_text(body: dict[str, Any]) -> str:
    # Called after _comment_text has checked it.
    return str(body["comment"]["text"])


def _comment_text(body: dict[str, Any], max_chars: int) -> str:
    comment = _object(body.get("comment"), "comment")
    text, kind = comment.get("text"), comment.get("type", "PLAIN_TEXT")
    if not isinstance(text, str) or not text.strip():
        raise PerspectiveError("Comment must be non-empty.", error_type="COMMENT_EMPTY")
    if not isinstance(kind, str) or kind not in TEXT_TYPES:
        raise PerspectiveError(f"Invalid value at 'comment.type': {kind!r}.")
    if len(text) > max_chars:
        raise PerspectiveError(
            f"Comment text too long: {len(text)} characters, at most {max_chars}.",
            error_type="COMMENT_TOO_LONG",
        )
    return plain_text(text, TEXT_TYPES[kind])


def _attribute(name: Any) -> str:
    if name not in ATTRIBUTES:
        raise PerspectiveError(
            f"Attribute {name} is not supported by this server; supported: "
            + ", ".join(ATTRIBUTES),
            error_type="INVALID_REQUESTED_ATTRIBUTE",
            extra={"attribute": str(name)},
        )
    return str(name)


def _threshold(name: str, params: Any) -> float | None:
    params = _object(params if params is not None else {}, f"requestedAttributes.{name}")
    score_type = params.get("scoreType", "PROBABILITY")
    if score_type not in ("PROBABILITY", None):
        raise PerspectiveError(
            f"Score type {score_type} is not supported; only PROBABILITY.",
            error_type="INVALID_REQUESTED_ATTRIBUTE",
            extra={"attribute": name},
        )
    threshold = params.get("scoreThreshold")
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise PerspectiveError(f"scoreThreshold of {name} must be a number.")
    if not 0 <= threshold <= 1:
        raise PerspectiveError(f"scoreThreshold of {name} must be between 0 and 1.")
    return float(threshold)


def _primary(tag: str) -> str:
    return tag.replace("_", "-").split("-", 1)[0].lower()


def guess_language(text: str) -> str:
    """`en` for text written mostly in Latin letters, else `und` (Civil ships no detector)."""
    letters = _LETTER.findall(text)
    latin = sum(1 for ch in letters if ch.isascii() or "\u00c0" <= ch <= "\u024f")
    return "en" if letters and latin * 2 >= len(letters) else "und"


def resolve_languages(
    requested: Any, text: str, supported: tuple[str, ...], attribute: str
) -> tuple[list[str], list[str]]:
    """(languages scored in, languages detected); Perspective's 400 when none is supported."""
    if requested is not None and not (
        isinstance(requested, list) and all(isinstance(tag, str) for tag in requested)
    ):
        raise PerspectiveError("Invalid JSON payload: 'languages' must be a list of strings.")
    detected = [guess_language(text)]
    asked = [tag for tag in requested or [] if tag.strip()]
    candidates = asked or detected
    usable = [tag for tag in candidates if _primary(tag) in supported]
    if not usable:
        raise PerspectiveError(
            f"Attribute {attribute} does not support request languages: {', '.join(candidates)}",
            error_type="LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            extra={
                "languageNotSupportedByAttributeError": {
                    "detectedLanguages": detected,
                    "requestedLanguages": asked,
                    "attribute": attribute,
                }
            },
        )
    return [_primary(tag) for tag in usable], detected


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise PerspectiveError(f"Invalid value at '{name}': expected true or false.")
    return value


def _token(body: dict[str, Any]) -> str | None:
    token = body.get("clientToken")
    if token is not None and not isinstance(token, str):
        raise PerspectiveError("Invalid value at 'clientToken': expected a string.")
    return token


def parse_analyze(body: Any, *, max_chars: int, supported: tuple[str, ...]) -> AnalyzeRequest:
    """Check an AnalyzeCommentRequest, or raise PerspectiveError with Perspective's message."""
    body = _object(body, "request body")
    text = _comment_text(body, max_chars)
    requested = _object(body.get("requestedAttributes"), "requestedAttributes")
    if not requested:
        raise PerspectiveError(
            "Empty requestedAttributes: request at least one attribute.",
            error_type="NO_REQUESTED_ATTRIBUTES",
        )
    attributes = {_attribute(name): _threshold(name, p) for name, p in requested.items()}
    languages, detected = resolve_languages(
        body.get("languages"), text, supported, next(iter(attributes))
    )
    return AnalyzeRequest(
        text=text,
        attributes=attributes,
        languages=languages,
        detected=detected,
        span_annotations=_flag(body, "spanAnnotations"),
        client_token=_token(body),
        do_not_store=_flag(body, "doNotStore"),
        sent=_sent_text(body),
    )


def parse_suggest(body: Any, *, max_chars: int, supported: tuple[str, ...]) -> SuggestRequest:
    """Check a SuggestCommentScoreRequest: every suggested summaryScore.value in 0..1."""
    body = _object(body, "request body")
    text = _comment_text(body, max_chars)
    scores = _object(body.get("attributeScores"), "attributeScores")
    if not scores:
        raise PerspectiveError("attributeScores must name at least one attribute.")
    labels = {}
    for name, entry in scores.items():
        summary = _object(_object(entry, f"attributeScores.{name}").get("summaryScore"), "summary")
        value = summary.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise PerspectiveError(f"attributeScores.{name}.summaryScore.value must be 0..1.")
        labels[ATTRIBUTES[_attribute(name)]] = float(value)
    languages, detected = resolve_languages(
        body.get("languages"), text, supported, LABEL_ATTRIBUTE[next(iter(labels))]
    )
    return SuggestRequest(text, labels, languages, detected, _token(body))


def sentence_spans(text: str, max_spans: int = MAX_SPANS) -> list[tuple[int, int]]:
    """[begin, end) of each sentence (split after . ! ? … and at line breaks), blanks trimmed.

    Each span is one more model input, so a text of more than `max_spans` sentences gets
    runs of neighbouring sentences as its spans instead ("a. " * 6000 must not cost 6000
    model calls).
    """
    spans, start = [], 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        if match:
            start = match.end()
    if len(spans) > max_spans:
        size = -(-len(spans) // max_spans)
        spans = [
            (spans[i][0], spans[min(i + size, len(spans)) - 1][1])
            for i in range(0, len(spans), size)
        ]
    return spans or [(0, len(text))]


def utf16_offsets(text: str) -> list[int]:
    """The UTF-16 offset of each code-point offset 0..len(text).

    Perspective's begin/end count UTF-16 code units (as JavaScript strings do); Python
    counts code points, so every character outside the BMP (most emoji) shifts them by one.
    """
    offsets, unit = [0], 0
    for char in text:
        unit += 2 if ord(char) > 0xFFFF else 1
        offsets.append(unit)
    return offsets


def _score(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 6), "type": "PROBABILITY"}


def analyze_response(
    request: AnalyzeRequest,
    summary: dict[str, float],
    spans: list[tuple[int, int, dict[str, float]]],
) -> dict[str, Any]:
    """AnalyzeCommentResponse from Civil scores of the whole text and of each span.

    `spans` are code-point offsets into the request's text; the answer gives UTF-16 ones.
    """
    units = utf16_offsets(request.sent or request.text)
    scores = {}
    for attribute, threshold in request.attributes.items():
        label = ATTRIBUTES[attribute]
        # Perspective leaves out an attribute whose score is below the requested threshold.
        if threshold is not None and summary[label] < threshold:
            continue
        scores[attribute] = {
            "spanScores": [
                {"begin": units[begin], "end": units[end], "score": _score(values[label])}
                for begin, end, values in spans
            ],
            "summaryScore": _score(summary[label]),
        }
    response: dict[str, Any] = {
        "attributeScores": scores,
        "languages": request.languages,
        "detectedLanguages": request.detected,
    }
    if request.client_token is not None:
        response["clientToken"] = request.client_token
    return response


def suggest_response(request: SuggestRequest) -> dict[str, Any]:
    """SuggestCommentScoreResponse."""
    response: dict[str, Any] = {
        "requestedLanguages": request.languages,
        "detectedLanguages": request.detected,
    }
    if request.client_token is not None:
        response["clientToken"] = request.client_token
    return response
