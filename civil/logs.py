"""Logs: JSON lines (production) or short coloured lines (a terminal); `bind()` adds ids.

`bind()` puts ids (comment_id, event_id...) on every line inside it. Two formats, chosen by
`CIVIL_LOG_FORMAT`: `json` (the default for `civil api` / `civil worker`, one object a line for
a log pipeline) and `human` (what `civil run` uses in a terminal: time, level, message, ids).

In both, the scheduler's periodic tasks and Celery's per-task bookkeeping ("Task … received",
"Task … succeeded") are DEBUG, so at INFO the log carries decisions, failed and dead-lettered
deliveries and workers joining or leaving, not a heartbeat every few seconds.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from pythonjsonlogger.json import JsonFormatter

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "civil_log", default=None
)

FORMATS = ("json", "human")
# Celery's per-task bookkeeping (received, succeeded, sending due task, discarding an expired
# periodic run): INFO in Celery, DEBUG here. Their warnings and errors are untouched.
BOOKKEEPING_LOGGERS = (
    "celery.app.trace",
    "celery.worker.strategy",
    "celery.worker.request",
    "celery.beat",
)
# Fields every record has; anything else on a record was added by `extra=` or `bind()`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_LEVEL_COLOURS = {"DEBUG": "bright_black", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "red"}


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def is_bookkeeping(record: logging.LogRecord) -> bool:
    """Celery's "received", "succeeded", "sending due task", "discarding" lines at INFO."""
    return record.levelno == logging.INFO and record.name.startswith(BOOKKEEPING_LOGGERS)


class _DemoteBookkeeping(logging.Filter):
    """Turn bookkeeping INFO lines into DEBUG ones, kept only when the level lets DEBUG in."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if is_bookkeeping(record):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.level


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add fields to every log line emitted inside the block (thread- and task-local)."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class HumanFormatter(logging.Formatter):
    """`12:00:01 INFO  worker  decided hold  comment_id=c-1 reasons=['toxic']`; colour on a TTY."""

    def __init__(self, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        level = record.levelname
        source = record.name.removeprefix("civil.")
        fields = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_") and value not in (None, "", [])
        )
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if self.colour:
            level = click.style(f"{level:<7}", fg=_LEVEL_COLOURS.get(level), bold=level != "INFO")
            source = click.style(source, fg="cyan")
            fields = click.style(fields, fg="bright_black") if fields else ""
        else:
            level = f"{level:<7}"
        return f"{stamp} {level} {source}  {text}" + (f"  {fields}" if fields else "")


def configure_logging(level: str = "INFO", fmt: str | None = None) -> None:
    """Send log lines to stderr from every logger (idempotent). `fmt`: json or human."""
    root = logging.getLogger()
    if any(getattr(h, "_civil", False) for h in root.handlers):
        return
    if fmt is None:
        from civil.settings import Settings

        fmt = Settings.from_env().log_format
    numeric = logging.getLevelName(level.upper())
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter
    if fmt == "human":
        formatter = HumanFormatter(colour=sys.stderr.isatty())
    else:
        formatter = JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    handler.setFormatter(formatter)
    handler.addFilter(_ContextFilter())
    handler.addFilter(_DemoteBookkeeping(numeric))
    handler._civil = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(numeric)
