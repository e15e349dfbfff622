"""Refuse input no view can parse or store, before any view, key lookup or rate limit runs.

PostgreSQL refuses NUL in text and UTF-8 has no lone surrogates, so either would fail deep in
a view (after the key lookup, even) as a 500; JSON nested thousands deep would exhaust the
parser's recursion. Each answers 400 here, in the error shape of the path's API, naming only
where the problem is (never the value: it may be personal data).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest

log = logging.getLogger("civil.api")
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_OPENERS, _CLOSERS = frozenset(b"[{"), frozenset(b"]}")


class UnreadableInput(BadRequest):
    """A request holding what no field may hold (the Civil shape's code: `invalid_text`)."""

    name = "Invalid Text"


class TooDeep(BadRequest):
    """JSON nested deeper than any request needs (code `json_too_deep`)."""

    name = "JSON Too Deep"


def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSERS:
            depth -= 1
    return deepest


def _bad_text(value: str) -> bool:
    return "\x00" in value or _SURROGATE.search(value) is not None


def _bad_strings(value: Any, where: str) -> str | None:
    """The first place (a JSON pointer-ish path) under `value` holding NUL or a lone surrogate."""
    if isinstance(value, str):
        return where if _bad_text(value) else None
    if isinstance(value, dict):
        if any(isinstance(key, str) and _bad_text(key) for key in value):
            return f"{where} (a member name)"
        candidates = [(f"{where}/{key}", item) for key, item in value.items()]
    elif isinstance(value, list):
        candidates = [(f"{where}/{i}", item) for i, item in enumerate(value)]
    else:
        return None
    for path, item in candidates:
        found = _bad_strings(item, path)
        if found:
            return found
    return None


def _refuse(where: str) -> None:
    log.info("refused input holding NUL or a lone surrogate", extra={"where": where})
    raise UnreadableInput(
        f"{where} holds a NUL character or a lone surrogate, which no text field may hold"
    )


def _check_json() -> None:
    raw = request.get_data(cache=True)
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and json_depth(raw) > MAX_JSON_DEPTH:
        log.info("refused JSON nested too deep", extra={"path": request.path})
        raise TooDeep(f"JSON may nest at most {MAX_JSON_DEPTH} levels deep")
    # Parsed once here (a bad body is left for the view to refuse); views reuse the cache.
    body = request.get_json(silent=True)
    where = _bad_strings(body, "body")
    if where:
        _refuse(where)


def check_request() -> None:
    """Raise a 400 for NUL / lone surrogates anywhere, or JSON nested too deep."""
    if "\x00" in request.path:
        _refuse("the path")
    for name, value in request.args.items(multi=True):
        if _bad_text(name) or _bad_text(value):
            _refuse(f"query parameter {name!r}")
    for name, value in request.headers.items():
        if "\x00" in value:
            _refuse(f"header {name!r}")
    if request.is_json:
        _check_json()
    elif request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        for name, value in request.form.items(multi=True):
            if _bad_text(name) or _bad_text(value):
                _refuse(f"form field {name!r}")


def init_app(app: Flask) -> None:
    # Registered before the rate limiter's hook, whose key functions look keys up.
    app.before_request(check_request)
