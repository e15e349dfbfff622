"""A Civil deployment across the cluster's hosts: API and scheduler on `api`, workers on `w*`."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from civil.db import Database
from civil.migrate import upgrade
from civil.models import Comment, Event
from civil.ops.health import live_workers
from civil.settings import Settings
from civil.sites import Credentials, create_site
from tests.factories import comment_body
from tests.support.netns import Cluster
from tests.support.receiver import Receiver

# What bounds recovery from a lost worker host (README "Scaling out" gives the production values):
# - a comment it had claimed: the claim lease (the task hard time limit, 10 s here), then the
#   sweeper (every 2 s, for comments pending over 5 s) queues it again for another host;
# - a message it had taken but not claimed: the sweeper as above, or Redis's visibility
#   timeout (20 s here), whichever comes first;
# - a callback it was sending: the event's claim (delivery timeout + 30 s = 35 s), then the
#   dispatcher (every second) sends it again; one it had only taken from the queue: the
#   dispatch lease (60 s).
SETTINGS = {
    "CIVIL_ALLOW_PRIVATE_CALLBACKS": "1",
    "CIVIL_SWEEP_INTERVAL_SECONDS": "2",
    "CIVIL_SWEEP_AFTER_SECONDS": "5",
    "CIVIL_DELIVERY_POLL_SECONDS": "1",
    "CIVIL_DELIVERY_TIMEOUT_SECONDS": "5",
    "CIVIL_DELIVERY_BACKOFF_BASE_SECONDS": "0.5",
    "CIVIL_DELIVERY_BACKOFF_MAX_SECONDS": "2",
    "CIVIL_WORKER_HEARTBEAT_SECONDS": "1",
    "CIVIL_WORKER_STALE_SECONDS": "15",
    "CIVIL_TASK_SOFT_TIME_LIMIT": "8",
    "CIVIL_TASK_HARD_TIME_LIMIT": "10",
    "CIVIL_VISIBILITY_TIMEOUT": "20",
    "CIVIL_LOG_FORMAT": "json",
    "CIVIL_SECRET_KEY": "cluster-test-key",
    "CIVIL_INTAKE_RATE_LIMIT": "100000/minute",
}


@dataclass
class Deployment:
    cluster: Cluster
    env: dict[str, str]
    settings: Settings
    db: Database
    site: Credentials | None = None
    posted: list[tuple[str, float]] = field(default_factory=list)  # (external id, when)

    def start_api(self) -> None:
        api = self.cluster.hosts["api"]
        self.cluster.civil("api", "api", ["api", "--host", api.address, "--web-workers", "1"],
                           self.env)  # fmt: skip
        self.cluster.civil("api", "beat", ["beat"], self.env)
        self.cluster.wait_api()

    def start_worker(self, host: str, concurrency: int = 2, wait: bool = True) -> None:
        self.cluster.civil(host, "worker", ["worker", "-c", str(concurrency)], self.env)
        if wait:
            self.wait_worker(host)

    def wait_worker(self, host: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(w["models"] for w in self.workers_on(host)):
                return
            time.sleep(0.3)
        raise AssertionError(f"worker on {host} never came up\n{self.cluster.logs()}")

    def workers_on(self, host: str) -> list[dict[str, Any]]:
        name = self.cluster.hosts[host].netns
        return [w for w in live_workers(self.db, self.settings) if w["name"].endswith("@" + name)]

    def make_site(self, receiver: Receiver) -> Credentials:
        with self.db.session() as session:
            creds = create_site(
                session, name="Cluster", allow_private=True, callback_url=receiver.url
            )
        receiver.secret = creds.signing_secret
        self.site = creds
        return creds

    def post(self, n: int = 1, timeout: float = 10) -> list[str]:
        assert self.site is not None
        ids = []
        for _ in range(n):
            body = comment_body()
            r = requests.post(
                f"{self.cluster.api_url()}/v1/sites/{self.site.site_id}/comments",
                json=body,
                headers={"Authorization": f"Bearer {self.site.api_key}"},
                timeout=timeout,
            )
            assert r.status_code == 202, (r.status_code, r.text)
            ids.append(body["id"])
            self.posted.append((body["id"], time.monotonic()))
        return ids

    def load(self, per_second: float, seconds: float) -> threading.Thread:
        """Post at a steady rate from a thread (join it before checking)."""

        def run() -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                started = time.monotonic()
                self.post(1)
                time.sleep(max(0.0, 1 / per_second - (time.monotonic() - started)))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def rows(self, ids: list[str]) -> tuple[list[Comment], list[Event]]:
        with self.db.session() as session:
            comments = list(session.scalars(select(Comment).where(Comment.external_id.in_(ids))))
            events = list(
                session.scalars(select(Event).where(Event.comment_id.in_([c.id for c in comments])))
            )
        return comments, events

    def wait_decided(self, ids: list[str], timeout: float) -> float:
        """Seconds until every comment is decided (fails after `timeout`)."""
        started = time.monotonic()
        while True:
            comments, _ = self.rows(ids)
            pending = [c.external_id for c in comments if c.status == "pending"]
            if len(comments) == len(ids) and not pending:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"undecided: {pending}\n{self.cluster.logs()}")
            time.sleep(0.3)

    def wait_delivered(self, ids: list[str], timeout: float) -> float:
        started = time.monotonic()
        while True:
            _, events = self.rows(ids)
            left = [(e.id, e.status, e.last_error) for e in events if e.status != "delivered"]
            if events and not left:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"undelivered: {left}\n{self.cluster.logs()}")
            time.sleep(0.3)


def deploy(cluster: Cluster, tiny_checkpoint: Path, tmp: Path, **extra: str) -> Deployment:
    database = cluster.create_database("civil_cluster")
    env = {
        **SETTINGS,
        "CIVIL_DATABASE_URL": database,
        "CIVIL_BROKER_URL": cluster.redis_url,
        "CIVIL_TOXICITY_MODEL": str(tiny_checkpoint),
        **extra,
    }
    settings = Settings.from_env({**env, "CIVIL_DATA_DIR": str(tmp / "var")})
    upgrade(settings)
    return Deployment(cluster, env, settings, Database(settings))


def accepted_per_webhook_id(receiver: Receiver, event_ids: set[str]) -> Counter[str]:
    """How many times the receiver accepted each webhook-id (what a deduplicating site counts)."""
    assert all(r.verified for r in receiver.received), "a callback failed its signature check"
    return Counter(
        r.webhook_id for r in receiver.received if r.webhook_id in event_ids and r.status < 300
    )
