from pathlib import Path

import pytest
from flask import request_finished

from service import create_app
from tests.support.openapi_check import response_problem


@pytest.fixture
def app(settings, db):
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(site):
    return {"Authorization": f"Bearer {site.api_key}"}


def queued(settings) -> list[Path]:
    """Messages waiting in the embedded (filesystem) broker's scoring queue."""
    return sorted((settings.broker_dir / "queue").glob("*.scoring.msg"))


@pytest.fixture(autouse=True)
def _responses_match_the_document(app):
    """Every JSON answer a service test gets on a documented route must match its schema."""
    problems: list[str] = []

    def check(sender, response, **extra):
        if response.mimetype != "application/json" or response.direct_passthrough:
            return
        from flask import request as current

        problem = response_problem(
            current.method, current.path, response.status_code, response.get_json(silent=True)
        )
        if problem:
            problems.append(problem)

    request_finished.connect(check, app)
    yield
    request_finished.disconnect(check, app)
    assert not problems, "responses that break /openapi.json:\n" + "\n".join(problems)
