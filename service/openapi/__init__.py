"""The OpenAPI 3.1 document of the HTTP API: components generated from civil.schema's models."""

from __future__ import annotations

from functools import cache
from typing import Any

from service.compat import openapi as compat_openapi
from service.openapi import admin as openapi_admin
from service.openapi import components
from service.openapi import review_queue as openapi_moderation
from service.openapi.paths import err, ops_paths, site_paths

# Every operation refuses these before any view runs (service/guard.py).
UNREADABLE = err(
    "a NUL character or lone surrogate in the path, a query parameter, a header or the "
    "body (`invalid_text`), or JSON nested too deep (`json_too_deep`)"
)


def _civil_paths() -> dict[str, Any]:
    paths = {
        **site_paths(),
        **openapi_moderation.paths(),
        **ops_paths(),
        **openapi_admin.paths(),
    }
    for operations in paths.values():
        for operation in operations.values():
            operation["responses"].setdefault("400", UNREADABLE)
    return paths


def _components() -> dict[str, Any]:
    return {
        "schemas": {**components.schemas(), **compat_openapi.schemas()},
        "securitySchemes": {
            "siteKey": {"type": "http", "scheme": "bearer"},
            "moderatorToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "civmod_… token from `civil moderators create`",
            },
            "adminToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "CIVIL_ADMIN_TOKEN, or the civmod_… token of an admin account",
            },
        },
    }


@cache
def spec() -> dict[str, Any]:
    """Build the document once per process."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Civil",
            "version": "1",
            "description": "Self-hosted comment moderation. Errors always use the Error shape.",
        },
        "security": [{"siteKey": []}],
        "components": _components(),
        "paths": {**_civil_paths(), **compat_openapi.paths()},
    }
