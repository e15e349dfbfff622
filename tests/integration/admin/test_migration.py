"""Migration 0008 goes down and up again on both databases, keeping the rows it does not own."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from civil.migrate import alembic_config, upgrade
from civil.models import Site


def test_0008_downgrades_and_upgrades(backend) -> None:
    r = backend.admin("POST", "/sites", json={"name": "Kept", "notify": {"held_over": 4}})
    site_id = r.json["site_id"]
    backend.db.engine.dispose()
    backend.app.extensions["civil"]["db"].engine.dispose()
    command.downgrade(alembic_config(backend.settings), "0005_dispatch")
    columns = {c["name"] for c in inspect(backend.db.engine).get_columns("sites")}
    assert {"coral", "notify"}.isdisjoint(columns)
    assert "notifications" not in inspect(backend.db.engine).get_table_names()
    backend.db.engine.dispose()
    upgrade(backend.settings)
    with backend.db.session() as session:
        site = session.get(Site, site_id)
        assert site is not None and site.name == "Kept" and site.notify is None
