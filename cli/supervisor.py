"""`civil run`: the API, a worker and the scheduler as child processes of one command."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from civil.migrate import upgrade
from civil.settings import Settings
from cli.banner import banner, for_terminal, local_url, watch_startup

ALL_QUEUES = "scoring,delivery,maintenance"
# Access log lines as JSON, like every other log line Civil writes.
ACCESS_LOG_FORMAT = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", "request": "%(r)s", '
    '"status": %(s)s, "bytes": "%(b)s", "duration_us": %(D)s}'
)


def child_env(settings: Settings) -> dict[str, str]:
    """Environment for children: settings rendered back to CIVIL_*, shared metrics dir, offline."""
    env = {**os.environ, **settings.as_env()}
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.data_dir / "metrics"))
    # Models are loaded from local files only; never reach a model hub at run time.
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def api_command(host: str, port: int, web_workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(web_workers),
        "--threads",
        "8",
        "--worker-class",
        "gthread",
        "--access-logfile",
        "-",
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        # Masks API keys that Perspective/Akismet clients send in the query string.
        "--logger-class",
        "service.accesslog.RedactingLogger",
        "--graceful-timeout",
        "20",
        "service.wsgi:app",
    ]


def worker_command(queues: str, concurrency: int, name: str = "civil@%h") -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery",
        "worker",
        "-Q",
        queues,
        "-c",
        str(concurrency),
        "-n",
        name,
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]


def beat_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery",
        "beat",
        "--loglevel",
        # Beat's INFO lines are one "sending due task" every few seconds: bookkeeping.
        "WARNING" if settings.log_level.upper() == "INFO" else settings.log_level,
        "--schedule",
        str(settings.data_dir / "celerybeat-schedule"),
    ]


def exec_api(settings: Settings, host: str, port: int, web_workers: int) -> None:
    env = child_env(settings)
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    os.execvpe(sys.executable, api_command(host, port, web_workers), env)  # noqa: S606


def exec_worker(queues: str, concurrency: int) -> None:
    env = child_env(Settings.from_env())
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    os.execvpe(  # noqa: S606 - replaces this process with the worker, no shell involved
        sys.executable,
        worker_command(queues, concurrency),
        env,
    )


def exec_beat(settings: Settings) -> None:
    os.execvpe(sys.executable, beat_command(settings), child_env(settings))  # noqa: S606


def _fresh_metrics_dir(env: dict[str, str]) -> None:
    # Multiprocess metric files from a previous run would be summed into this one's.
    path = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


def run_all(settings: Settings, *, host: str, port: int, web_workers: int, concurrency: int) -> int:
    """Start everything, stop everything when one child exits or a signal arrives."""
    upgrade(settings)
    if not settings.log_format:
        # Short coloured lines for a person at a terminal, JSON lines for anything else.
        settings = replace(settings, log_format="human" if sys.stderr.isatty() else "json")
    env = child_env(settings)
    _fresh_metrics_dir(env)
    commands = {
        "api": api_command(host, port, web_workers),
        "worker": worker_command(ALL_QUEUES, concurrency),
        "beat": beat_command(settings),
    }
    if settings.log_format == "human":
        commands = for_terminal(commands)
    children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}  # noqa: S603
    base = local_url(host, port)
    print(banner(settings, base, {n: p.pid for n, p in children.items()}), flush=True)
    stopping = {"signal": 0}

    def _stop(signum: int, _frame: object) -> None:
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    watch_startup(
        settings,
        host,
        port,
        lambda: bool(stopping["signal"]) or any(p.poll() is not None for p in children.values()),
    )
    exited = ""
    while not stopping["signal"] and not exited:
        exited = next((n for n, p in children.items() if p.poll() is not None), "")
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for child in children.values():
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
    if exited:
        print(
            f"civil: {exited} exited with {children[exited].returncode}; stopped the rest",
            file=sys.stderr,
        )
        return 1
    return 0
