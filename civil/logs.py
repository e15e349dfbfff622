"""Structured JSON logs; `bind()` puts ids (comment_id, event_id...) on every line inside it."""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "civil_log", default=None
)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add fields to every log line emitted inside the block (thread- and task-local)."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def configure_logging(level: str = "INFO") -> None:
    """Send JSON lines to stderr from every logger (idempotent)."""
    root = logging.getLogger()
    if any(getattr(h, "_civil", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter())
    handler._civil = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
