"""`civil status`: workers, queues, comments and dead letters at a glance."""

from __future__ import annotations

from typing import Any

import click

from cli.common import load_settings, open_database, print_json


@click.command()
def status() -> None:
    """Workers, queue depths, comments by status and dead letters."""
    from civil.ops import health

    settings = load_settings()
    database = open_database()
    try:
        depths: Any = health.queue_depths(settings)
    except Exception as exc:
        depths = {"error": f"broker unreachable: {type(exc).__name__}"}
    counts = health.counts(database)
    print_json(
        {
            "workers": health.live_workers(database, settings),
            "queues": depths,
            "comments": counts["comments"],
            "deliveries": counts["deliveries"],
            "dead_letters": counts["deliveries"].get("dead", 0),
            "broker": settings.broker_url.split("@")[-1],
            "database": settings.database_url.split("@")[-1],
        }
    )
