from pathlib import Path

import pytest

from service import create_app
from tests.support.openapi_check import schema_checked


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
    with schema_checked(app) as problems:
        yield
    assert not problems, "responses that break /openapi.json:\n" + "\n".join(problems)
