from pathlib import Path

import pytest

from service import create_app


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
