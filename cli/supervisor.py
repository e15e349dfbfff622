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


def flower_command(address: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery",
        "flower",
        f"--address={address}",
        f"--port={port}",
    ]


def exec_flower(settings: Settings, address: str, port: int) -> None:
    os.execvpe(sys.executable, flower_command(address, port), child_env(settings))  # noqa: S606


def _fresh_metrics_dir(env: dict[str, str]) -> None:
    # Multiprocess metric files from a previous run would be summed into this one's.
    path = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


# A child that dies is started again after BACKOFF_BASE * 2**n seconds (n: deaths in a row,
# capped at BACKOFF_MAX); one that stayed up STABLE_SECONDS starts the count afresh.
BACKOFF_BASE = 1.0
BACKOFF_MAX = 30.0
STABLE_SECONDS = 60.0


def backoff(failures: int) -> float:
    """Seconds to wait before restarting a child that died `failures` times in a row (>= 1)."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(failures - 1, 0))


def say(message: str) -> None:
    print(f"civil: {message}", file=sys.stderr, flush=True)


class Child:
    """One supervised process: started, watched, restarted with backoff when it dies."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], nice: int = 0) -> None:
        self.name, self.command, self.env, self.nice = name, command, env, nice
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.failures = 0
        self.restart_at: float | None = None

    def start(self) -> None:
        increment = self.nice
        self.proc = subprocess.Popen(  # noqa: S603
            self.command,
            env=self.env,
            # In the child, before it runs: its pool processes inherit the priority.
            preexec_fn=(lambda: os.nice(increment)) if increment else None,
        )
        self.started = time.monotonic()
        self.restart_at = None

    def watch(self, now: float) -> None:
        """Notice a death (schedule the restart) or restart when the backoff has passed."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
                say(f"{self.name} restarted (pid {self.pid})")
            return
        if self.proc is None or self.proc.poll() is None:
            return
        self.failures = 1 if now - self.started >= STABLE_SECONDS else self.failures + 1
        delay = backoff(self.failures)
        self.restart_at = now + delay
        say(
            f"{self.name} (pid {self.proc.pid}) exited with {self.proc.returncode}; "
            f"restarting in {delay:g}s (death {self.failures} in a row)"
        )

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def reap(self, deadline: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_all(settings: Settings, *, host: str, port: int, web_workers: int, concurrency: int) -> int:
    """Start everything and keep it running (restarting what dies) until a signal arrives."""
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
    # The API answers sites while the worker scores: the worker and scheduler yield to it.
    nice = {"worker": settings.worker_nice, "beat": settings.worker_nice}
    children = [Child(name, command, env, nice.get(name, 0)) for name, command in commands.items()]
    for child in children:
        child.start()
    base = local_url(host, port)
    print(banner(settings, base, {c.name: c.pid for c in children}), flush=True)
    stopping = {"signal": 0}

    def _stop(signum: int, _frame: object) -> None:
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    watch_startup(settings, host, port, lambda: bool(stopping["signal"]))
    # One child dying never stops the others: the API keeps taking comments while a worker
    # or the scheduler is restarted (intake stores them; the sweeper queues them later).
    while not stopping["signal"]:
        for child in children:
            child.watch(time.monotonic())
        time.sleep(0.2)
    for child in children:
        child.terminate()
    deadline = time.monotonic() + 30
    for child in children:
        child.reap(deadline)
    return 0
