"""What `civil run` prints for a person: a short banner, then a progress line while models load."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import click

from civil.settings import Settings


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
            f":{parts.port}" if parts.port else ""
        )
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def local_url(host: str, port: int) -> str:
    """The URL to open on this machine for an API bound to `host` (any-address → loopback)."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - recognising it, not binding it
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def banner(settings: Settings, base: str, pids: dict[str, int]) -> str:
    """The lines `civil run` starts with: where everything is and what it runs."""
    broker = (
        f"folder broker in {settings.broker_dir}"
        if settings.embedded_broker
        else _masked(settings.broker_url)
    )
    database = (
        "SQLite in the data folder"
        if settings.database_url.startswith("sqlite")
        else _masked(settings.database_url)
    )
    rows = [
        ("API", f"{base}   (spec: {base}/openapi.json)"),
        ("workspace", f"{base}/moderate"),
        ("data", str(settings.data_dir)),
        ("database", database),
        ("broker", broker),
        ("model", settings.toxicity_model),
        ("processes", ", ".join(f"{name} {pid}" for name, pid in pids.items())),
    ]
    head = (click.style("Civil", bold=True) if sys.stdout.isatty() else "Civil") + f" on {base}"
    return "\n".join([head, *(f"  {k:<10} {v}" for k, v in rows)])


def ready_state(settings: Settings, host: str, port: int) -> tuple[bool, str]:
    """(ready, what is still missing): the API accepting connections, a worker with its models.

    Read from the database and a TCP connect, not from /readyz, so that waiting adds no access
    log lines.
    """
    from civil.db import Database
    from civil.ops import health

    missing = []
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        missing.append("the API")
    try:
        workers = health.live_workers(Database(settings), settings)
    except Exception:  # the schema is there (migrated first); a locked SQLite file is not fatal
        workers = []
    if not workers:
        missing.append("a worker")
    elif not health.models_loaded(workers):
        missing.append(f"the {settings.toxicity_model} model")
    return not missing, ", ".join(missing)


def for_terminal(commands: dict[str, list[str]]) -> dict[str, list[str]]:
    """The children's command lines for a person: no startup art, no access log."""
    out = {}
    for name, command in commands.items():
        command = list(command)
        if "celery" in command:
            # Celery's --quiet drops the ASCII-art banner; log lines stay.
            command.insert(command.index("celery") + 1, "--quiet")
        if "gunicorn" in command:
            # No line per request: the workspace polls every 10 s and readiness probes come
            # every few; intake and decisions have their own lines. JSON format keeps them.
            for flag in ("--access-logfile", "--access-logformat"):
                at = command.index(flag)
                del command[at : at + 2]
            command += ["--log-level", "warning"]
        out[name] = command
    return out


def watch_startup(
    settings: Settings,
    host: str,
    port: int,
    stopped: Callable[[], bool],
    *,
    out: IO[str] | None = None,
    interval: float = 1.0,
    limit: float = 900.0,
) -> threading.Thread:
    """In a thread: one progress line while workers load their models, then "ready"."""
    stream = out or sys.stdout

    def run() -> None:
        started = time.monotonic()
        said, said_at = "", 0.0
        while not stopped() and time.monotonic() - started < limit:
            ready, missing = ready_state(settings, host, port)
            waited = time.monotonic() - started
            if ready:
                click.echo(
                    click.style("civil: ready", fg="green", bold=True)
                    + f" in {waited:.0f}s; try it: civil demo   (workspace "
                    + local_url(host, port)
                    + "/moderate)",
                    file=stream,
                )
                return
            # Log lines from the children interleave with this one, so no carriage returns:
            # a line when what is missing changes, and every 10 s while it stays the same.
            if missing != said or waited - said_at >= 10:
                click.echo(
                    f"civil: loading models… {waited:.0f}s (waiting for: {missing})",
                    file=stream,
                )
                said, said_at = missing, waited
            time.sleep(interval)

    thread = threading.Thread(target=run, name="civil-startup", daemon=True)
    thread.start()
    return thread
