"""Factories for request bodies and rows."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def comment_body(**overrides: Any) -> dict[str, Any]:
    """A valid comment as a host site would send it."""
    n = next(_ids)
    body: dict[str, Any] = {
        "id": f"c-{n}",
        "article": {
            "id": "a-17",
            "url": "https://news.example/a-17",
            "title": "Council approves new bike lanes",
        },
        "parent_id": None,
        "author": {
            "id": f"u-{n}",
            "name": "Reader",
            "email": "reader@example.org",
            "ip": f"203.0.113.{n % 250}",
            "user_agent": "Mozilla/5.0",
        },
        "content": f"Thanks for the thorough reporting on the bike lanes, part {n}.",
        "content_type": "text/plain",
        "inline_quote": None,
        "created_at": "2026-11-24T10:00:00Z",
        "honeypot": None,
        "language": "en",
    }
    body.update(overrides)
    return body


def stored_decision(action: str = "approve", **fields: Any) -> dict[str, Any]:
    """A decision row's JSON in the full Decision shape (what the pipeline stores)."""
    return {
        "action": action,
        "decided_by": "auto",
        "reasons": [],
        "scores": {"toxicity": {}, "spam": None},
        "model": "test",
        "decided_at": "2026-01-01T00:00:00Z",
        **fields,
    }
