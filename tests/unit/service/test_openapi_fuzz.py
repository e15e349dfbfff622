"""Fuzz every operation of /openapi.json against the app: no 5xx, answers as documented."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from civil.db import Database
from civil.migrate import upgrade
from civil.sites import create_site
from service import create_app
from service.compat import openapi as compat_openapi
from service.openapi import spec
from tests.conftest import make_settings
from tests.support.moderation import decided_comment, moderator

MAX_EXAMPLES = int(os.environ.get("CIVIL_TEST_FUZZ_EXAMPLES", "25"))
DOCUMENTED = (not_a_server_error, response_schema_conformance, status_code_conformance)
MIRRORED = (not_a_server_error,)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """One app for the whole run: a site with a decided comment, a moderator of that site."""
    config = make_settings(
        tmp_path_factory.mktemp("fuzz") / "var",
        intake_rate_limit="10000/minute",
        unauthenticated_rate_limit="10000/minute",
        # A longer run against PostgreSQL, by hand: CIVIL_TEST_FUZZ_DATABASE_URL=postgresql://…
        database_url=os.environ.get("CIVIL_TEST_FUZZ_DATABASE_URL", ""),
    )
    upgrade(config)
    db = Database(config)
    with db.session() as session:
        site = create_site(session, name="Fuzz", callback_url=None)
    decided_comment(db, site.site_id, toxicity=0.7)
    _, token = moderator(db, "fuzz@example.org", [site.site_id])
    app = create_app(config)
    yield app, site, token
    app.extensions["civil"]["db"].engine.dispose()
    db.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    app, _, _ = fuzzed
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


OPERATIONS = [(path, method) for path, ops in spec()["paths"].items() for method in ops]


def _headers(path: str, site, token: str) -> dict[str, str]:
    if path.startswith(("/v1/queue", "/v1/comments/")):
        return {"Authorization": f"Bearer {token}"}
    if path.startswith(("/v1/sites/", "/v1/moderations")):
        return {"Authorization": f"Bearer {site.api_key}"}
    return {}


def _with_key(case, path: str, site) -> None:
    """Past the compat APIs' key checks too: the site's key where each API reads it."""
    if path.startswith("/v1alpha1/"):
        case.query = {**(case.query or {}), "key": site.api_key}
    elif path.startswith(("/1.1/", "/1.2/")) and isinstance(case.body, dict):
        case.body = {**case.body, "api_key": site.api_key, "key": site.api_key}


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_answers_as_documented(path, method, api_schema, fuzzed):
    _, site, token = fuzzed
    headers = _headers(path, site, token)
    # The compat documents mirror the third parties' own (gaps included): only no 5xx there.
    checks = MIRRORED if path in compat_openapi.paths() else DOCUMENTED
    if path == "/readyz":
        # No worker runs here: its documented answer is 503 not_ready, not a server failure.
        checks = DOCUMENTED[1:]

    @given(case=api_schema[path][method].as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def answers_as_documented(case):
        if "site_id" in (case.path_parameters or {}):
            # Past the key check, into the views: the path names the key's own site.
            case.path_parameters["site_id"] = site.site_id
        _with_key(case, path, site)
        case.call_and_validate(headers=headers, checks=checks)

    answers_as_documented()
