"""`civil status`: workers, queues, comments and dead letters at a glance."""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from cli.common import load_settings, open_database, print_json


@click.command()
@click.option(
    "--beat",
    "beat_only",
    is_flag=True,
    help="Only the scheduler: exit 1 unless one ticked recently (a healthcheck).",
)
def status(beat_only: bool) -> None:
    """Workers, queue depths, comments by status and dead letters."""
    from civil.ops import health

    settings = load_settings()
    database = open_database()
    if beat_only:
        try:
            schedulers = health.live_schedulers(database, settings)
        except SQLAlchemyError as exc:  # not migrated yet, or the database is down
            print_json({"schedulers": [], "error": type(exc).__name__})
            sys.exit(1)
        print_json({"schedulers": schedulers})
        sys.exit(0 if schedulers else 1)
    try:
        from service.broker import amqp_reader

        depths: Any = health.queue_depths(settings, amqp_reader(settings))
    except Exception as exc:
        depths = {"error": f"broker unreachable: {type(exc).__name__}"}
    counts = health.counts(database)
    print_json(
        {
            "workers": health.live_workers(database, settings),
            "schedulers": health.live_schedulers(database, settings),
            "queues": depths,
            "comments": counts["comments"],
            "deliveries": counts["deliveries"],
            "dead_letters": counts["deliveries"].get("dead", 0),
            "broker": settings.broker_url.split("@")[-1],
            "database": settings.database_url.split("@")[-1],
        }
    )
