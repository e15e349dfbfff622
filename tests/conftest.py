"""Shared fixtures: settings on a temp data dir, a migrated SQLite database, sites."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from civil.db import Database
from civil.migrate import upgrade
from civil.settings import Settings
from civil.sites import Credentials, create_site


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "allow_private_callbacks": True,
        "toxicity_model": str(data_dir / "missing.ckpt"),
        # The API process's synchronous answers come from the fast linear model here (the
        # product default is the workers' model; tests/unit/service/test_sync_model.py).
        "sync_toxicity_model": "linear",
        "database_url": "",
        "broker_url": "",
    }
    values.update(overrides)
    return Settings.from_env({}, **values)


def migrated(
    request: pytest.FixtureRequest, data_dir: Path, **overrides: object
) -> tuple[Settings, Database]:
    """Settings and a migrated database of the kind ``request.param`` names.

    "postgresql": a fresh database from the pg_url fixture; otherwise SQLite in ``data_dir``.
    """
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("pg_url")
    settings = make_settings(data_dir, **overrides)
    upgrade(settings)
    return settings, Database(settings)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "var")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    upgrade(settings)
    database = Database(settings)
    yield database
    database.engine.dispose()


@pytest.fixture
def site(db: Database) -> Credentials:
    with db.session() as session:
        return create_site(
            session, name="Daily Planet", callback_url="http://127.0.0.1:9/hook", allow_private=True
        )
