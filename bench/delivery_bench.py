"""Callbacks delivered per second to one receiver: per-site passes against one task per callback.

    python bench/delivery_bench.py -n 2000 --mode site --database-url postgresql://…/db \
        --broker-url redis://127.0.0.1:6379/0
    python bench/delivery_bench.py -n 2000 --mode event …   (one civil.deliver_event per callback)

It fills the outbox with ``-n`` decided events for ``--sites`` sites (as a decision batch leaves
them: pending, marked for a message), starts a real ``civil worker -Q delivery`` and then
publishes what a worker publishes after its decisions commit: ``--mode site`` wakes one
``civil.deliver_site`` pass per site (this code), ``--mode event`` one ``civil.deliver_event``
message per callback (the code before site passes; that task is still registered). A loopback
HTTP/1.1 keep-alive receiver verifies every Standard Webhooks signature and counts the TCP
connections it accepted. Reported: callbacks per second from the first publish to the last
callback, connections, the most delivery messages Redis held, the worker's CPU per callback
and PostgreSQL commits per callback.

``--mode event`` needs nothing of this code but the task name, so the same file run from an
older checkout (its ``civil`` on the path first) measures that code's one-task-per-callback path.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intake_bench import CallbackReceiver, pg_usage, tree_cpu  # noqa: E402


def fill(db: Any, site_ids: list[str], n: int) -> list[str]:
    """n decided events spread over the sites, as build_events leaves them (no comment rows)."""
    from sqlalchemy import insert

    from civil.models import Event

    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        site_id = site_ids[i % len(site_ids)]
        payload = {
            "type": "comment.decided",
            "timestamp": now.isoformat(),
            "data": {"site_id": site_id, "comment_id": f"c-{i}", "status": "approved"},
        }
        rows.append(
            {
                "id": "msg_" + secrets.token_hex(12),
                "site_id": site_id,
                "type": "comment.decided",
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "created_at": now + timedelta(microseconds=i),
                "retry_since": now,
                "next_attempt_at": now + timedelta(seconds=60),
                "enqueued_at": now,
            }
        )
    with db.session() as session:
        for start in range(0, n, 500):
            session.execute(insert(Event), rows[start : start + 500])
    return [r["id"] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--mode", choices=("site", "event"), default="site")
    parser.add_argument("--sites", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--broker-url", required=True, help="redis://… (its queue is sampled)")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    import redis

    from civil.db import Database
    from civil.migrate import upgrade
    from civil.ops.health import live_workers
    from civil.settings import Settings
    from civil.sites import create_site
    from cli.supervisor import worker_command
    from service.broker import make_producer

    tmp = Path(tempfile.mkdtemp(prefix="civil-delivery-bench-"))
    settings = Settings.from_env(
        {},
        data_dir=tmp,
        database_url=args.database_url,
        broker_url=args.broker_url,
        allow_private_callbacks=True,
        toxicity_model="linear",
        worker_heartbeat_seconds=1,
    )
    upgrade(settings)
    db = Database(settings)
    receiver = CallbackReceiver()
    site_ids = []
    with db.session() as session:
        for s in range(args.sites):
            creds = create_site(
                session, name=f"bench-{s}", callback_url=receiver.url, allow_private=True
            )
            site_ids.append(creds.site_id)
            receiver.secrets.append(creds.signing_secret)
    event_ids = fill(db, site_ids, args.n)
    queue = redis.Redis.from_url(args.broker_url)
    queue.delete("delivery")

    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIL_")}
    env.update(settings.as_env())
    env["PYTHONPATH"] = str(ROOT)
    log = open(tmp / "worker.log", "wb")  # noqa: SIM115 - closed at the end
    worker = subprocess.Popen(
        worker_command("delivery", args.concurrency, "bench@%h"),
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not live_workers(db, settings):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"worker never came up: see {tmp / 'worker.log'}")
            time.sleep(0.2)
        time.sleep(1.0)  # every pool process is ready

        most_queued = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                most_queued[0] = max(most_queued[0], int(queue.llen("delivery")))

        threading.Thread(target=sample, daemon=True).start()
        producer = make_producer(settings)
        cpu_before, pg_before = tree_cpu(worker.pid), pg_usage(args.database_url)
        started = time.time()
        if args.mode == "site":
            from civil.delivery.events import wake_sites

            for site_id in wake_sites(db, site_ids):
                producer.send_task("civil.deliver_site", args=(site_id,), queue="delivery")
        else:
            for event_id in event_ids:
                producer.send_task("civil.deliver_event", args=(event_id,), queue="delivery")
        published_s = time.time() - started
        wanted = set(event_ids)
        deadline = time.monotonic() + args.timeout
        ids = receiver.webhook_ids
        while time.monotonic() < deadline and len(wanted & ids.keys()) < len(wanted):
            time.sleep(0.05)
        span = receiver.last - started
        cpu = tree_cpu(worker.pid) - cpu_before
        time.sleep(11)  # an idle PostgreSQL backend reports its counts within 10 s
        pg_after = pg_usage(args.database_url)
        done.set()
        got = len(wanted & receiver.webhook_ids.keys())
        report: dict[str, Any] = {
            "mode": args.mode,
            "callbacks": args.n,
            "sites": args.sites,
            "worker_concurrency": args.concurrency,
            "delivered_verified": got,
            "lost": args.n - got,
            "sent_twice": sum(1 for c in receiver.webhook_ids.values() if c > 1),
            "bad_signatures": receiver.bad_signatures,
            "publish_s": round(published_s, 2),
            "first_publish_to_last_callback_s": round(span, 2),
            "callbacks_per_s": round(got / span, 1) if span > 0 else None,
            "tcp_connections": receiver.connections,
            "most_delivery_messages_in_redis": most_queued[0],
            "worker_cpu_ms_per_callback": round(cpu * 1000 / max(got, 1), 2),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
        if pg_before and pg_after:
            report["postgres_commits_per_callback"] = round(
                (pg_after["commits"] - pg_before["commits"]) / max(got, 1), 2
            )
            report["postgres_backend_cpu_ms_per_callback"] = round(
                (pg_after["backend_cpu_s"] - pg_before["backend_cpu_s"]) * 1000 / max(got, 1), 2
            )
        print(json.dumps(report, indent=2))
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
        receiver.server.shutdown()
        db.engine.dispose()


if __name__ == "__main__":
    main()
