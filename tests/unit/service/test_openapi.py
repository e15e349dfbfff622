"""/openapi.json: valid OpenAPI 3.1, every JSON route in it with the same parameter names."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from service.openapi import spec
from tests.support.openapi_check import HTML_PREFIXES, response_problem

IGNORED_METHODS = {"HEAD", "OPTIONS"}
# The compat documents mirror the third parties' own, which list usage-limit as POST only.
MIRRORED_GAPS = {"GET /1.2/usage-limit"}


def documented(rule: str) -> str:
    """Flask's /a/<x>/<path:y> as OpenAPI's /a/{x}/{y}."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def json_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith(HTML_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            yield rule, method


def test_the_document_is_valid_openapi_3_1(client):
    document = client.get("/openapi.json").json
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on anything the 3.1 meta-schema refuses


def test_every_json_route_is_documented_with_its_parameter_names(app):
    paths = spec()["paths"]
    missing, renamed = [], []
    for rule, method in json_routes(app):
        path = documented(rule.rule)
        operation = paths.get(path, {}).get(method.lower())
        if operation is None and f"{method} {path}" not in MIRRORED_GAPS:
            missing.append(f"{method} {path}")
            continue
        if operation is None:
            continue
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        if declared != set(rule.arguments):
            renamed.append(f"{method} {path}: {sorted(declared)} != {sorted(rule.arguments)}")
    assert missing == [] and renamed == []


def test_every_documented_operation_has_a_route(app):
    routes = {(documented(r.rule), m.lower()) for r, m in json_routes(app)}
    documented_ops = {(p, m) for p, ops in spec()["paths"].items() for m in ops}
    assert documented_ops - routes == set()


def test_components_come_from_the_wire_models():
    from civil import schema

    schemas = spec()["components"]["schemas"]
    assert schemas["Decision"]["properties"].keys() == schema.Decision.model_fields.keys()
    assert schemas["QueueItem"]["properties"].keys() == schema.QueueItem.model_fields.keys()
    assert schemas["Error"]["required"] == ["error", "message", "details"]


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (200, {"status": "ok"}, None),
        (200, {"status": "fine"}, "GET /healthz 200: 'ok' was expected"),
        (418, {"status": "ok"}, "not documented"),
    ],
)
def test_the_response_check_catches_a_wrong_body_or_status(status, body, problem):
    found = response_problem("GET", "/healthz", status, body)
    assert (found is None) if problem is None else (problem in found)
