"""What every command group shares: settings from the environment, the database, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from civil.settings import Settings


def load_settings() -> Settings:
    return Settings.from_env()


def open_database() -> Any:
    from civil.db import Database

    return Database(load_settings())


def actor() -> str:
    """Who the audit log names for a CLI change: `cli:<login name>`."""
    import getpass

    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "cli"


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def fail(exc: Exception) -> None:
    """Print a CivilError as the one error shape on stderr and exit 2; re-raise anything else."""
    from civil.errors import CivilError

    if isinstance(exc, CivilError):
        click.echo(
            json.dumps({"error": exc.code, "message": exc.message, "details": exc.details}),
            err=True,
        )
        sys.exit(2)
    raise exc
