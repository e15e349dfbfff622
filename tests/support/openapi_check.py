"""Hold a response of the test client against its schema in /openapi.json."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import jsonschema
from flask import Flask, request_finished

from service.compat import openapi as compat_openapi
from service.openapi import spec

HTML_PREFIXES = ("/moderate", "/static")


@cache
def _routes() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for path in spec()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+(?:/[^/]+)*?", re.escape(path))
        out.append((re.compile(f"^{pattern}$"), path))
    # The most specific (longest literal) template wins: /comments/{id}/feedback before /comments/{id}.
    return sorted(out, key=lambda p: -len(p[1].replace("{", "").replace("}", "")))


def documented_path(url_path: str) -> str | None:
    for pattern, template in _routes():
        if pattern.match(url_path):
            return template
    return None


def response_problem(method: str, url_path: str, status: int, body: Any) -> str | None:
    """Why this JSON response breaks the document (None when it conforms or is not documented)."""
    template = documented_path(url_path)
    if template is None:
        return None
    # The compat paths mirror a third party's document, gaps included: only what they
    # document is held to it.
    mirrored = template in compat_openapi.paths()
    operation = spec()["paths"][template].get(method.lower())
    if operation is None:
        return None if status == 405 or mirrored else f"{method} {template} is not documented"
    response = operation["responses"].get(str(status))
    if response is None:
        return None if mirrored else f"{method} {template} answered {status}, not documented"
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    document = {**schema, "components": spec()["components"]}
    errors = sorted(
        jsonschema.Draft202012Validator(document).iter_errors(body), key=lambda e: e.path
    )
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path)
        return f"{method} {template} {status}: {first.message} at /{where}"
    return None


@contextmanager
def schema_checked(app: Flask) -> Iterator[list[str]]:
    """While open, check every JSON answer ``app`` gives against the document.

    Yields the list the problems are appended to (one line each); streamed answers are skipped.
    """
    problems: list[str] = []

    def check(sender: Any, response: Any, **extra: Any) -> None:
        if response.mimetype != "application/json" or response.direct_passthrough:
            return
        from flask import request as current

        problem = response_problem(
            current.method, current.path, response.status_code, response.get_json(silent=True)
        )
        if problem:
            problems.append(problem)

    request_finished.connect(check, app)
    try:
        yield problems
    finally:
        request_finished.disconnect(check, app)
