"""Reason tags: the families of a decision's hold and reject reasons, stored for the queue."""

from __future__ import annotations

from typing import Any


def _family(code: str) -> str:
    if code.startswith("toxic"):
        return "toxic"
    if code == "spam_links":
        return "links"
    if code.startswith("spam"):
        return "spam"
    if code in ("banned_word", "suspect_word"):
        return "words"
    if code.startswith("rate_"):
        return "rate"
    return code


def reason_tags(decision: dict[str, Any] | None) -> str | None:
    """The families of the reasons that held or rejected a comment, as ',toxic,spam,'."""
    reasons = (decision or {}).get("reasons") or []
    tags = sorted({_family(r["code"]) for r in reasons if r.get("action") in ("hold", "reject")})
    return "," + ",".join(tags) + "," if tags else None
