"""Throughput with one and with two worker hosts (network namespaces on this machine; root).

Builds the cluster of tests/cluster (db host: PostgreSQL + Redis; api host: API + scheduler;
worker hosts w1, w2), then, for each worker-host count, on a fresh database: starts that many
`civil worker -c C` hosts, posts N real comments (bench/data/comments.jsonl) as fast as 8 client
threads can through the API host, and times first post → last comment decided and → last
callback received (a receiver on the bridge, signatures checked).

    sudo .venv/bin/python bench/cluster_bench.py -n 300 --model cascade --concurrency 1

The hosts share this machine's cores: two hosts add processes, not cores. See bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from civil.db import Database  # noqa: E402
from civil.migrate import upgrade  # noqa: E402
from civil.settings import Settings  # noqa: E402
from civil.sites import create_site  # noqa: E402
from tests.cluster.common import SETTINGS  # noqa: E402
from tests.factories import comment_body  # noqa: E402
from tests.support.netns import GATEWAY, Cluster, wait_until  # noqa: E402
from tests.support.receiver import Receiver  # noqa: E402

DATA = ROOT / "bench" / "data" / "comments.jsonl"


def texts() -> list[str]:
    with DATA.open() as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def run(cluster: Cluster, hosts: list[str], n: int, model: str, concurrency: int) -> dict:
    name = f"civil_bench_{len(hosts)}"
    env = {
        **SETTINGS,
        "CIVIL_DATABASE_URL": cluster.create_database(name),
        "CIVIL_BROKER_URL": cluster.redis_url,
        "CIVIL_TOXICITY_MODEL": model,
        "CIVIL_TASK_SOFT_TIME_LIMIT": "60",
        "CIVIL_TASK_HARD_TIME_LIMIT": "90",
        "CIVIL_SWEEP_AFTER_SECONDS": "120",
    }
    settings = Settings.from_env({**env, "CIVIL_DATA_DIR": str(cluster.folder / "bench-var")})
    upgrade(settings)
    db = Database(settings)
    receiver = Receiver(host=GATEWAY).start()
    with db.session() as session:
        site = create_site(session, name="Bench", allow_private=True, callback_url=receiver.url)
    receiver.secret = site.signing_secret
    api = cluster.hosts["api"]
    cluster.civil("api", "api", ["api", "--host", api.address, "--web-workers", "2"], env)
    cluster.civil("api", "beat", ["beat"], env)
    cluster.wait_api()
    for host in hosts:
        cluster.civil(host, "worker", ["worker", "-c", str(concurrency)], env)
    from civil.ops.health import live_workers

    wait_until(
        lambda: sum(1 for w in live_workers(db, settings) if w["models"]) == len(hosts),
        240,
        cluster.logs,
    )
    corpus = texts()
    bodies = []
    for i in range(n):
        body = comment_body(id=f"b{len(hosts)}-{i}", content=corpus[i % len(corpus)])
        body["author"].update(id=f"a{i}", ip=f"198.51.{i // 250}.{i % 250}")
        bodies.append(body)
    url = f"{cluster.api_url()}/v1/sites/{site.site_id}/comments"
    headers = {"Authorization": f"Bearer {site.api_key}"}

    def post(body: dict) -> int:
        return requests.post(url, json=body, headers=headers, timeout=30).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, bodies))
    posted_s = time.monotonic() - started
    assert codes.count(202) == n, {c: codes.count(c) for c in set(codes)}
    from sqlalchemy import func, select

    from civil.models import Comment

    while True:
        with db.session() as session:
            pending = session.scalar(select(func.count()).where(Comment.status == "pending"))
        if not pending:
            break
        time.sleep(0.2)
    decided_s = time.monotonic() - started
    wait_until(lambda: len({r.webhook_id for r in receiver.received}) >= n, 300)
    called_back_s = time.monotonic() - started
    assert all(r.verified for r in receiver.received)
    for host in [*hosts, "api"]:
        for label in list(cluster.hosts[host].procs):
            cluster.hosts[host].stop(label)
    receiver.stop()
    db.engine.dispose()
    return {
        "worker_hosts": len(hosts),
        "processes_per_host": concurrency,
        "comments": n,
        "posted_s": round(posted_s, 1),
        "decided_s": round(decided_s, 1),
        "called_back_s": round(called_back_s, 1),
        "decided_per_s": round(n / decided_s, 2),
        "called_back_per_s": round(n / called_back_s, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--model", default="cascade")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    cluster = Cluster()
    try:
        cluster.build()
        cluster.start_services()
        print(f"load average before: {os.getloadavg()}", flush=True)
        for hosts in (["w1"], ["w1", "w2"]):
            print(json.dumps(run(cluster, hosts, args.n, args.model, args.concurrency)), flush=True)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
