"""`civil`: run the service, manage sites and deliveries, inspect status."""

from __future__ import annotations

import click

from cli import comments, db, deliveries, demo, listen, models, moderators, serve, sites, status


@click.group()
def civil() -> None:
    """Civil: self-hosted comment moderation."""


civil.add_command(serve.run)
civil.add_command(serve.api)
civil.add_command(serve.worker)
civil.add_command(serve.beat)
civil.add_command(serve.flower)
civil.add_command(db.group)
civil.add_command(sites.group)
civil.add_command(comments.group)
civil.add_command(deliveries.group)
civil.add_command(moderators.group)
civil.add_command(models.group)
civil.add_command(status.status)
civil.add_command(listen.listen)
civil.add_command(demo.demo)


def main() -> None:
    """Run the `civil` command (the console script's entry point)."""
    civil()
