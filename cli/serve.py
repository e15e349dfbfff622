"""`civil run|api|worker|beat`: start the service's processes."""

from __future__ import annotations

import sys

import click

from cli.common import load_settings


@click.command()
@click.option("--port", type=int, default=None, help="API port (default CIVIL_PORT or 8000).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--web-workers", type=int, default=2, show_default=True)
@click.option(
    "--concurrency", type=int, default=2, show_default=True, help="Celery worker processes."
)
def run(port: int | None, host: str, web_workers: int, concurrency: int) -> None:
    """Migrate, then start API (gunicorn) + worker + scheduler, until interrupted."""
    from cli.supervisor import run_all

    settings = load_settings()
    sys.exit(
        run_all(
            settings,
            host=host,
            port=port or settings.port,
            web_workers=web_workers,
            concurrency=concurrency,
        )
    )


@click.command()
@click.option("--port", type=int, default=None, help="Port (default CIVIL_PORT or 8000).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--web-workers", type=int, default=2, show_default=True)
def api(port: int | None, host: str, web_workers: int) -> None:
    """Serve only the HTTP API with gunicorn (for scaling the API separately)."""
    from cli.supervisor import exec_api

    settings = load_settings()
    exec_api(settings, host, port or settings.port, web_workers)


@click.command()
@click.option("--queues", "-Q", default="scoring,delivery,maintenance", show_default=True)
@click.option("--concurrency", "-c", type=int, default=2, show_default=True)
def worker(queues: str, concurrency: int) -> None:
    """Start one Celery worker (for scaling out: run more, or dedicate them to queues)."""
    from cli.supervisor import exec_worker

    exec_worker(queues, concurrency)


@click.command()
def beat() -> None:
    """Start the scheduler (sweeper and delivery dispatcher). Run exactly one."""
    from cli.supervisor import exec_beat

    exec_beat(load_settings())


@click.command()
@click.option("--port", type=int, default=5555, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True)
def flower(port: int, address: str) -> None:
    """Start Flower, the Celery dashboard, behind basic auth (FLOWER_BASIC_AUTH=user:password)."""
    import os

    from cli.supervisor import exec_flower

    # Flower shows task arguments and can revoke tasks: never serve it without a password.
    # Flower reads FLOWER_BASIC_AUTH itself, so the password stays off the command line.
    if ":" not in os.environ.get("FLOWER_BASIC_AUTH", ""):
        raise click.UsageError("set FLOWER_BASIC_AUTH=user:password (comma-separate several)")
    exec_flower(load_settings(), address, port)
