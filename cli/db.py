"""`civil db`: the database schema."""

from __future__ import annotations

import click

from cli.common import load_settings


@click.group("db")
def group() -> None:
    """Database schema."""


@group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations."""
    from civil.migrate import upgrade

    upgrade(load_settings(), revision)
    click.echo(f"database at {revision}")
