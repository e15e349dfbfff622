"""The admin API, the Coral phase and notifications on both databases: SQLite and PostgreSQL.

Each test runs twice; every JSON answer on a documented route is held against /openapi.json.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from civil.db import Database
from civil.settings import Settings
from service import create_app
from tests.conftest import migrated
from tests.support.openapi_check import schema_checked

ADMIN_TOKEN = "admin-" + "x" * 40


@dataclass
class Backend:
    settings: Settings
    db: Database
    app: Flask
    client: FlaskClient

    def admin(self, method: str, path: str, token: str = ADMIN_TOKEN, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.open(f"/v1/admin{path}", method=method, headers=headers, **kwargs)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    settings, db = migrated(request, tmp_path / "var", admin_token=ADMIN_TOKEN)
    app = create_app(settings)
    with schema_checked(app) as problems:
        yield Backend(settings, db, app, app.test_client())
    db.engine.dispose()
    app.extensions["civil"]["db"].engine.dispose()
    assert not problems, "responses that break /openapi.json:\n" + "\n".join(problems)
