"""Post N comments at a fixed rate and report intake latency, decision latency and throughput.

Against a running service:
    python bench/intake_bench.py --url http://127.0.0.1:8000 --site-id S --api-key K
Or let it start `civil run` itself in a temporary data dir (what `make bench` does):
    python bench/intake_bench.py -n 500 --rate 50 [--model tiny] [--database-url U] [--broker-url U]

Open loop: request i is sent at start + i/rate whatever the earlier ones are doing, so a slow
service shows up as latency rather than as a lower offered rate.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
CIVIL = str(Path(sys.executable).with_name("civil"))
TEXTS = [
    "Thanks for covering the council meeting, the bike lane plan finally makes sense to me.",
    "This is the worst article I have read all year, the author clearly did no research.",
    "Does anyone know when the public consultation closes? I'd like to send a comment.",
    "You are an idiot and everyone who agrees with you is an idiot too.",
    "Great photos! The old bridge looks beautiful after the restoration.",
    "Buy cheap watches at http://spam.example and http://spam.example/more today!!!",
]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(args: argparse.Namespace, data_dir: Path) -> tuple[subprocess.Popen, str, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIL_")}
    env.update({"CIVIL_DATA_DIR": str(data_dir), "CIVIL_INTAKE_RATE_LIMIT": "100000/minute"})
    if args.database_url:
        env["CIVIL_DATABASE_URL"] = args.database_url
    if args.broker_url:
        env["CIVIL_BROKER_URL"] = args.broker_url
    if args.model == "tiny":
        sys.path.insert(0, str(ROOT))
        from tests.support.tiny_detoxify import build_tiny_checkpoint

        env["CIVIL_TOXICITY_MODEL"] = str(build_tiny_checkpoint(data_dir / "tiny"))
    elif args.model:
        env["CIVIL_TOXICITY_MODEL"] = args.model
    port = free_port()
    log = open(data_dir / "service.log", "wb")  # noqa: SIM115 - lives as long as the service
    proc = subprocess.Popen(
        [CIVIL, "run", "--port", str(port), "--concurrency", str(args.concurrency)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/readyz", timeout=10).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    try:
        out = subprocess.run(
            [CIVIL, "sites", "create", "--name", "bench"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    except subprocess.CalledProcessError:
        proc.terminate()
        raise
    return proc, base, json.loads(out.stdout)


def post_all(base: str, site: dict, n: int, rate: float, run_id: str) -> list[dict]:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {site['api_key']}"}
    url = f"{base}/v1/sites/{site['site_id']}/comments"
    start = time.monotonic()

    def send(i: int) -> dict:
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = {
            "id": f"{run_id}-{i}",
            "article": {"id": f"a-{i % 20}", "title": "Bench"},
            "author": {"id": f"u-{i % 97}", "ip": f"198.51.100.{i % 250}"},
            "content": f"{TEXTS[i % len(TEXTS)]} (#{i})",
        }
        sent_wall = datetime.now().astimezone()
        t0 = time.perf_counter()
        r = session.post(url, json=body, headers=headers, timeout=30)
        return {
            "id": body["id"],
            "status": r.status_code,
            "intake_s": time.perf_counter() - t0,
            "sent": sent_wall,
        }

    with ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(send, range(n)))


def collect(base: str, site: dict, results: list[dict], timeout: float) -> list[float]:
    headers = {"Authorization": f"Bearer {site['api_key']}"}
    latencies: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    waiting = [r for r in results if r["status"] in (200, 202)]
    while waiting and time.monotonic() < deadline:
        still = []
        for r in waiting:
            view = requests.get(
                f"{base}/v1/sites/{site['site_id']}/comments/{r['id']}", headers=headers, timeout=10
            ).json()
            if view["status"] == "pending":
                still.append(r)
                continue
            decided = datetime.fromisoformat(view["decision"]["decided_at"])
            latencies[r["id"]] = (decided - r["sent"]).total_seconds()
        waiting = still
        if waiting:
            time.sleep(0.5)
    return list(latencies.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="comments per second offered")
    parser.add_argument("--url")
    parser.add_argument("--site-id")
    parser.add_argument("--api-key")
    parser.add_argument(
        "--model",
        help="CIVIL_TOXICITY_MODEL for the started service ('tiny' "
        "builds the tests' random-weight Detoxify checkpoint)",
    )
    parser.add_argument("--database-url")
    parser.add_argument("--broker-url")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    proc = None
    if args.url:
        base, site = args.url, {"site_id": args.site_id, "api_key": args.api_key}
    else:
        tmp = Path(tempfile.mkdtemp(prefix="civil-bench-"))
        proc, base, site = start_service(args, tmp)
    try:
        run_id = f"bench-{int(time.time())}"
        t0 = time.monotonic()
        results = post_all(base, site, args.n, args.rate, run_id)
        decisions = collect(base, site, results, args.timeout)
        elapsed = time.monotonic() - t0
        intake = [r["intake_s"] * 1000 for r in results]
        codes = statistics.multimode([r["status"] for r in results])
        model = requests.get(base + "/readyz", timeout=5).json()
        print(
            json.dumps(
                {
                    "comments": args.n,
                    "offered_rate": args.rate,
                    "accepted": sum(r["status"] in (200, 202) for r in results),
                    "status_codes": codes,
                    "decided": len(decisions),
                    "intake_ms": {
                        "p50": round(pct(intake, 50), 1),
                        "p99": round(pct(intake, 99), 1),
                    },
                    "decision_s": {
                        "p50": round(pct(decisions, 50), 3),
                        "p95": round(pct(decisions, 95), 3),
                    },
                    "throughput_per_s": round(len(decisions) / elapsed, 1),
                    "readyz_models": (model.get("checks") or model.get("details") or {}).get(
                        "models"
                    ),
                },
                indent=2,
            )
        )
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
