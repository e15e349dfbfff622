"""Real services: PostgreSQL and Redis on loopback, real Celery worker processes.

An unreachable Redis or PostgreSQL fails these tests loudly; they are never skipped.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from civil.db import Database
from civil.migrate import upgrade
from civil.settings import Settings
from civil.sites import Credentials, create_site
from cli.supervisor import beat_command, worker_command
from service import create_app
from tests.support.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = os.environ.get("CIVIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("CIVIL_TEST_REDIS", "redis://127.0.0.1:6379/11")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_detoxify import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-detoxify"))


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required at {REDIS} and is unreachable: {exc}")
    client.flushdb()
    return REDIS


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = "civil_it_" + secrets.token_hex(4)
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN} and is unreachable: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def pg_db(pg_url: str, tmp_path: Path) -> Iterator[tuple[Settings, Database]]:
    """Settings and a migrated Database on a fresh PostgreSQL database."""
    settings = Settings.from_env({}, data_dir=tmp_path / "var", database_url=pg_url)
    upgrade(settings)
    db = Database(settings)
    yield settings, db
    db.engine.dispose()


class Stack:
    """One deployment under test: settings, database, API client, worker processes."""

    def __init__(self, settings: Settings, tmp: Path) -> None:
        self.settings = settings
        self.tmp = tmp
        upgrade(settings)
        self.db = Database(settings)
        self.app = create_app(settings)
        self.client = self.app.test_client()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.files: list[Any] = []

    def _log(self, name: str) -> Any:
        handle = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.files.append(handle)
        return handle

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIL_")}
        env.update(self.settings.as_env())
        env["PYTHONPATH"] = str(ROOT)
        env["HF_HUB_OFFLINE"] = "1"
        return env

    def start_worker(
        self,
        name: str = "w1",
        queues: str = "scoring,delivery,maintenance",
        concurrency: int = 1,
        wait: bool = True,
    ) -> subprocess.Popen[bytes]:
        log = self._log(name)
        # The same command line `civil run` starts, so the tests exercise its flags too.
        command = worker_command(queues, concurrency, f"{name}@%h")
        proc = subprocess.Popen(command, env=self.env(), cwd=ROOT, stdout=log, stderr=log)
        self.procs.append(proc)
        if wait:
            self.wait_worker(name)
        return proc

    def start_beat(self) -> subprocess.Popen[bytes]:
        log = self._log("beat")
        command = beat_command(self.settings)
        proc = subprocess.Popen(command, env=self.env(), cwd=ROOT, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def wait_worker(self, name: str, timeout: float = 60) -> None:
        from civil.ops.health import live_workers

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = [
                w for w in live_workers(self.db, self.settings) if w["name"].startswith(name + "@")
            ]
            if live and live[0]["models"]:
                return
            time.sleep(0.2)
        raise AssertionError(f"worker {name} never came up: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in self.tmp.glob("*.log"))

    def site(self, receiver: Receiver | None = None, **policy: Any) -> Credentials:
        with self.db.session() as session:
            creds = create_site(
                session,
                name="Site",
                allow_private=True,
                policy=policy or None,
                callback_url=receiver.url if receiver else None,
            )
        if receiver is not None:
            receiver.secret = creds.signing_secret
        return creds

    def post(self, creds: Credentials, body: dict[str, Any], wait: float | None = None) -> Any:
        url = f"/v1/sites/{creds.site_id}/comments" + (f"?wait={wait}" if wait else "")
        return self.client.post(
            url, json=body, headers={"Authorization": f"Bearer {creds.api_key}"}
        )

    def get(self, creds: Credentials, comment_id: str) -> Any:
        return self.client.get(
            f"/v1/sites/{creds.site_id}/comments/{comment_id}",
            headers={"Authorization": f"Bearer {creds.api_key}"},
        )

    def wait_decided(
        self, creds: Credentials, comment_id: str, timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view = self.get(creds, comment_id).json
            if view["status"] != "pending":
                return view
            time.sleep(0.1)
        raise AssertionError(f"{comment_id} never decided: {self.logs()}")

    def wait_event(self, event_id: str, status: str, timeout: float = 15) -> Any:
        """The event row once it reaches `status` (the receiver answers before the row is saved)."""
        from civil.models import Event

        deadline = time.monotonic() + timeout
        while True:
            with self.db.session() as session:
                event = session.get(Event, event_id)
            if (event is not None and event.status == status) or time.monotonic() > deadline:
                return event
            time.sleep(0.05)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for handle in self.files:
            handle.close()
        self.db.engine.dispose()
        self.app.extensions["civil"]["db"].engine.dispose()


FAST = {
    "allow_private_callbacks": True,
    "delivery_poll_seconds": 1,
    "sweep_interval_seconds": 1,
    "sweep_after_seconds": 3,
    "delivery_backoff_base_seconds": 0.5,
    "delivery_backoff_max_seconds": 2.0,
    "worker_heartbeat_seconds": 1,
    "worker_stale_seconds": 15,
    "task_soft_time_limit": 20,
    "task_hard_time_limit": 30,
}


@pytest.fixture
def make_stack(tmp_path: Path, tiny_checkpoint: Path) -> Iterator[Any]:
    stacks: list[Stack] = []

    def build(**overrides: Any) -> Stack:
        values = {
            "data_dir": tmp_path / "var",
            "toxicity_model": str(tiny_checkpoint),
            # Synchronous answers from the linear model (the compat tests compare with it); the
            # product default, the workers' model, is tested in tests/unit/service.
            "sync_toxicity_model": "linear",
            **FAST,
            **overrides,
        }
        stack = Stack(Settings.from_env({}, **values), tmp_path)
        stacks.append(stack)
        return stack

    yield build
    for stack in stacks:
        stack.stop()


@pytest.fixture
def pg_redis_stack(make_stack: Any, pg_url: str, redis_url: str) -> Stack:
    return make_stack(database_url=pg_url, broker_url=redis_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()
