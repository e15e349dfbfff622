"""OpenAI's moderation shape (`/v1/moderations`) over Civil's six toxicity labels.

A category's score is the smallest of the Civil labels it needs (a fuzzy AND), and it is
true when every one of those labels reaches the site's reject threshold, or, for a label the
site never auto-rejects (by default `insult`: ordinary incivility is held, not rejected), its
hold threshold. Categories no
Civil model measures (sexual*, self-harm*, illicit*, violence/graphic) are always 0 and
false, and their `category_applied_input_types` list is empty to say so. `flagged` is true
when Civil itself would not publish the text as it stands: any of the six labels at its hold
or reject threshold (a worker would hold or reject it), so a text can be flagged for, e.g.,
profanity with no OpenAI category true, and a direct threat that the default policy holds for
a moderator is flagged although it is not auto-rejected.
"""

from __future__ import annotations

import secrets
from typing import Any

# OpenAI category -> the Civil labels it is made of.
CATEGORY_SOURCES: dict[str, tuple[str, ...]] = {
    "harassment": ("insult",),
    "harassment/threatening": ("insult", "threat"),
    "hate": ("identity_attack",),
    "hate/threatening": ("identity_attack", "threat"),
    "violence": ("threat",),
    "violence/graphic": (),
    "sexual": (),
    "sexual/minors": (),
    "self-harm": (),
    "self-harm/intent": (),
    "self-harm/instructions": (),
    "illicit": (),
    "illicit/violent": (),
}
MAX_INPUTS = 32


class ModerationError(Exception):
    """A failure answered in OpenAI's error shape: {"error": {message, type, param, code}}."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int = 400,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message, self.http_status = message, http_status
        self.code, self.param, self.kind = code, param, kind

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


def parse_inputs(body: Any, max_chars: int) -> list[str]:
    """The texts of a moderation request: `input` as a string, strings, or text parts.

    Each text is held to Civil's comment length limit, as Perspective analyze is.
    """
    if not isinstance(body, dict) or "input" not in body:
        raise ModerationError("you must provide an input", param="input")
    raw = body["input"]
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise ModerationError("input must be a string or a non-empty array", param="input")
    if len(items) > MAX_INPUTS:
        raise ModerationError(f"at most {MAX_INPUTS} inputs per request", param="input")
    texts = []
    for item in items:
        if isinstance(item, dict) and item.get("type") == "text":
            item = item.get("text")
        elif isinstance(item, dict):
            raise ModerationError("only text inputs are supported by Civil", param="input")
        if not isinstance(item, str):
            raise ModerationError("each input must be a string", param="input")
        if len(item) > max_chars:
            raise ModerationError(
                f"each input must be at most {max_chars} characters", param="input"
            )
        texts.append(item)
    return texts


def moderation_result(
    scores: dict[str, float], reject: dict[str, float], hold: dict[str, float] | None = None
) -> dict[str, Any]:
    """One `results[]` entry from Civil's label scores and the site's reject/hold thresholds."""
    hold = hold or {}
    categories, category_scores, applied = {}, {}, {}
    for category, labels in CATEGORY_SOURCES.items():
        value = min((scores[label] for label in labels), default=0.0)
        categories[category] = bool(labels) and all(
            _reaches(scores[lb], reject.get(lb, hold.get(lb))) for lb in labels
        )
        category_scores[category] = round(float(value), 6)
        applied[category] = ["text"] if labels else []
    limits = [*reject.items(), *hold.items()]
    flagged = any(scores[label] >= limit for label, limit in limits if label in scores)
    return {
        "flagged": flagged,
        "categories": categories,
        "category_scores": category_scores,
        "category_applied_input_types": applied,
    }


def _reaches(score: float, limit: float | None) -> bool:
    return limit is not None and score >= limit


def moderation_response(model: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "modr-" + secrets.token_hex(12), "model": model, "results": results}
