"""End to end: comments posted open-loop → decided → callback signed, received and verified.

Let it start `civil run` itself in a temporary data dir (what `make bench` does):
    python bench/intake_bench.py -n 600 --rate 20 --model cascade
    python bench/intake_bench.py -n 2000 --burst --model cascade      # as fast as the client can
    ... [--database-url postgresql://…] [--broker-url redis://…]

Inputs are real comments, not a handful of repeating texts, each posted with its own author and
IP: by default ``bench/corpus.py`` writes *n* distinct ones (up to ~12,000: the English rows of
the prepared test and validation splits, which no shipped model trained on, ~8 % real spam and
the bundled comments) from ``../shared/data`` to a temp file; without ``../shared/data``, the
740 of ``bench/data/comments.jsonl`` (see ``bench/data/README.md``), cycled. ``--data FILE``
takes another JSONL of ``{"text": …}`` rows.

The load generator runs in its own process; request *i* leaves at start + i/rate whatever the
others are doing (open loop), so a slow service shows up as latency, not as a lower offered
rate. A callback receiver in this process verifies every Standard Webhooks signature and
records when each comment's callback arrived; a sampler reads the broker's delivery queue
length and the events still waiting, to report the most messages per waiting event. At the end
the same toxicity model is loaded here and scores the same texts alone (batches of 32, one
process): the pipeline's throughput is given against it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ROOT = Path(__file__).resolve().parents[1]
CIVIL = str(Path(sys.executable).with_name("civil"))
DATA = ROOT / "bench" / "data" / "comments.jsonl"
DELIVERY_QUEUE = "delivery"
SCORING_QUEUE = "scoring"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> tuple[float, int]:
    """(utime + stime + reaped children's, parent pid) of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state; utime, stime, cutime, cstime are fields 14-17 of stat (1-based).
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / CLOCK_TICKS, int(fields[1])


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by a process and all its descendants (reaped ones included)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cpu[int(entry)], parents[int(entry)] = _proc_cpu(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, stack, seen = 0.0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen or pid not in cpu:
            continue
        seen.add(pid)
        total += cpu[pid]
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


def pg_usage(url: str | None) -> dict[str, float] | None:
    """Transactions committed in the bench's PostgreSQL database and its backends' CPU."""
    if not url or not url.startswith("postgresql"):
        return None
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        db = conn.execute(text("SELECT current_database()")).scalar()
        row = conn.execute(
            text(
                "SELECT xact_commit, tup_returned + tup_fetched, tup_inserted + tup_updated "
                "+ tup_deleted FROM pg_stat_database WHERE datname = :db"
            ),
            {"db": db},
        ).one()
        pids = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": db},
        ).scalars()
        backend_cpu = 0.0
        for pid in pids:
            try:
                backend_cpu += _proc_cpu(int(pid))[0]
            except OSError:
                continue
    engine.dispose()
    return {
        "commits": float(row[0]),
        "rows_read": float(row[1]),
        "rows_written": float(row[2]),
        "backend_cpu_s": backend_cpu,
    }


def decision_latencies(env: dict[str, str], data_dir: Path, run_id: str) -> list[float]:
    """Seconds from each of this run's comments being stored to its decision (from its row)."""
    from datetime import datetime

    from sqlalchemy import create_engine, text

    def when(value: Any) -> datetime:
        # SQLite hands the stored timestamps back as text.
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    url = env.get("CIVIL_DATABASE_URL") or f"sqlite:///{data_dir / 'civil.sqlite3'}"
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT received_at, decided_at FROM comments "
                "WHERE external_id LIKE :prefix AND decided_at IS NOT NULL"
            ),
            {"prefix": f"{run_id}-%"},
        ).all()
    engine.dispose()
    return [(when(decided) - when(received)).total_seconds() for received, decided in rows]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


class CallbackReceiver:
    """Loopback HTTP/1.1 endpoint: verifies each callback, records its first arrival.

    It accepts the signatures of every secret in ``secrets`` (one per site), counts the TCP
    connections it accepted and when the last verified callback came.
    """

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.arrived: dict[str, float] = {}  # comment id -> first callback (epoch seconds)
        self.webhook_ids: dict[str, int] = {}
        self.bad_signatures = 0
        self.connections = 0
        self.last = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint would

            def setup(self) -> None:
                super().setup()
                with receiver.lock:
                    receiver.connections += 1

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = any(receiver.verifies(secret, raw, headers) for secret in receiver.secrets)
                body = json.loads(raw)
                with receiver.lock:
                    if not ok:
                        receiver.bad_signatures += 1
                    else:
                        wid = headers["webhook-id"]
                        receiver.webhook_ids[wid] = receiver.webhook_ids.get(wid, 0) + 1
                        receiver.last = now
                        if body.get("type") == "comment.decided":
                            receiver.arrived.setdefault(body["data"]["comment_id"], now)
                self.send_response(204 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def verifies(secret: str, raw: bytes, headers: dict[str, str]) -> bool:
        try:
            Webhook(secret).verify(raw, headers)
        except WebhookVerificationError:
            return False
        return True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/civil-hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_service(
    args: argparse.Namespace, data_dir: Path, callback_url: str
) -> tuple[subprocess.Popen[bytes], str, dict[str, str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIL_")}
    env.update(
        {
            "CIVIL_DATA_DIR": str(data_dir),
            "CIVIL_INTAKE_RATE_LIMIT": "1000000/minute",
            "CIVIL_ALLOW_PRIVATE_CALLBACKS": "1",
        }
    )
    if args.count_statements:
        statements = data_dir / "statements"
        statements.mkdir()
        env["CIVIL_BENCH_STATEMENTS_DIR"] = str(statements)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "bench" / "profile"), *filter(None, [env.get("PYTHONPATH")])]
        )
    for setting in args.setting:
        name, _, value = setting.partition("=")
        env[name] = value
    if args.database_url:
        env["CIVIL_DATABASE_URL"] = args.database_url
    if args.broker_url:
        env["CIVIL_BROKER_URL"] = args.broker_url
    if args.model in PEERS:
        env["CIVIL_TOXICITY_MODEL"] = str(peer_checkpoint(args.model, data_dir))
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
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/readyz", timeout=10).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    try:
        out = subprocess.run(
            [CIVIL, "sites", "create", "--name", "bench", "--callback-url", callback_url],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    except subprocess.CalledProcessError:
        proc.terminate()
        raise
    return proc, base, json.loads(out.stdout), env


def _post_all(
    base: str,
    site: dict[str, str],
    texts: list[str],
    n: int,
    rate: float,
    run_id: str,
    out: Any,
    wait_every: int = 0,
    wait_s: float = 0.0,
) -> None:
    """The load generator (its own process): post n comments open-loop; report each request.

    With ``wait_every`` K, every K-th comment asks ``?wait=wait_s`` (a site that shows the
    decision at once): the contract answers 200 with the decision or 202 within that time.
    """
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))
    headers = {"Authorization": f"Bearer {site['api_key']}"}
    url = f"{base}/v1/sites/{site['site_id']}/comments"
    start = time.monotonic()

    def ip(i: int) -> str:
        return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"

    def send(i: int) -> dict[str, Any]:
        if rate > 0:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        body = {
            "id": f"{run_id}-{i}",
            "article": {"id": f"a-{i % 50}", "title": f"Story {i % 50}"},
            # A distinct author and IP for every comment: no reputation or velocity shortcut.
            "author": {
                "id": f"u-{run_id}-{i}",
                "ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
            },
            "content": texts[i % len(texts)],
        }
        waits = wait_every > 0 and i % wait_every == wait_every - 1
        params = {"wait": f"{wait_s:g}"} if waits else None
        sent = time.time()
        t0 = time.perf_counter()
        try:
            code = session.post(
                url, json=body, headers=headers, params=params, timeout=60
            ).status_code
        except requests.RequestException:
            code = 0
        return {
            "id": body["id"],
            "status": code,
            "intake_s": time.perf_counter() - t0,
            "sent": sent,
            "waited": waits,
        }

    with ThreadPoolExecutor(max_workers=64) as pool:
        out.put(list(pool.map(send, range(n))))


class Sampler(threading.Thread):
    """Every half second: delivery messages in the broker, events waiting, load average."""

    def __init__(self, env: dict[str, str], data_dir: Path, analyze_every: float = 0.0) -> None:
        super().__init__(daemon=True)
        from sqlalchemy import create_engine

        url = env.get("CIVIL_DATABASE_URL") or f"sqlite:///{data_dir / 'civil.sqlite3'}"
        self.engine = create_engine(url)
        self.redis_url = env.get("CIVIL_BROKER_URL")
        self.folder = data_dir / "broker" / "queue"
        self.stop_flag = threading.Event()
        self.samples: list[tuple[int, int]] = []
        self.scoring: list[tuple[int, int]] = []
        self.loads: list[float] = []
        # PostgreSQL only: re-ANALYZE this often, as autovacuum would as the tables grow.
        self.analyze_every = analyze_every if url.startswith("postgresql") else 0.0

    def queued(self, queue: str = DELIVERY_QUEUE) -> int:
        if self.redis_url:
            import redis

            return int(redis.Redis.from_url(self.redis_url).llen(queue))
        return sum(1 for p in self.folder.glob(f"*.{queue}.msg"))

    def pending(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            q = "SELECT count(*) FROM comments WHERE status = 'pending'"
            return int(conn.execute(text(q)).scalar() or 0)

    def waiting(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            q = "SELECT count(*) FROM events WHERE status IN ('pending', 'retrying')"
            return int(conn.execute(text(q)).scalar() or 0)

    def analyze(self) -> None:
        """What autovacuum's analyze would do (it is off on the development machine)."""
        from sqlalchemy import text

        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))

    def run(self) -> None:
        analyzed = time.monotonic()
        while not self.stop_flag.wait(0.5):
            if self.analyze_every and time.monotonic() - analyzed > self.analyze_every:
                analyzed = time.monotonic()
                try:
                    self.analyze()
                except Exception as exc:  # a busy database: the next round tries again
                    print(f"analyze skipped: {exc}", file=sys.stderr)
            try:
                self.samples.append((self.queued(), self.waiting()))
                self.scoring.append((self.queued(SCORING_QUEUE), self.pending()))
            except Exception as exc:  # the database may be busy; a missed sample is no result
                print(f"sample skipped: {exc}", file=sys.stderr)
                continue
            self.loads.append(os.getloadavg()[0])

    def report(self) -> dict[str, Any]:
        # The queue is read before the events, so deliveries in between count against us.
        ratios = [q / w for q, w in self.samples if w]
        with (self.folder.parents[1] / "broker-samples.json").open("w") as f:
            json.dump(self.samples, f)
        return {
            "samples": len(self.samples),
            "max_messages_beyond_waiting_events": max((q - w for q, w in self.samples), default=0),
            "max_delivery_messages": max((q for q, _ in self.samples), default=0),
            "max_waiting_events": max((w for _, w in self.samples), default=0),
            "max_messages_per_waiting_event": round(max(ratios, default=0.0), 3),
            "max_scoring_messages": max((q for q, _ in self.scoring), default=0),
            "max_pending_comments": max((p for _, p in self.scoring), default=0),
            "max_scoring_messages_beyond_pending": max((q - p for q, p in self.scoring), default=0),
            "load_average_1m_mean": round(statistics.fmean(self.loads), 2) if self.loads else None,
        }


# Random-weight Detoxify checkpoints loaded through Detoxify's real loading path: "tiny" (the
# tests') and "original-random" (BERT-base, the shape of Detoxify's `original`: the peer).
PEERS = ("tiny", "original-random")


def peer_checkpoint(model: str, data_dir: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.support.tiny_detoxify import BERT_BASE, build_tiny_checkpoint

    folder = data_dir / model
    if (folder / "tiny.ckpt").exists():
        return folder / "tiny.ckpt"
    shape = BERT_BASE if model == "original-random" else None
    return build_tiny_checkpoint(folder, shape=shape)


def scorer_only(model: str | None, data_dir: Path, texts: list[str]) -> dict[str, Any]:
    """The same toxicity model scoring the same texts alone: one process, batches of 32."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from civil.settings import Settings
    from civil.toxicity.loader import load_scorer

    spec = model or "cascade"
    if model in PEERS:
        spec = str(peer_checkpoint(model, data_dir))
    scorer = load_scorer(spec, Settings().resolved().model_dir)
    scorer.score_batch(texts[:32])  # warm
    started = time.perf_counter()
    for i in range(0, len(texts), 32):
        scorer.score_batch(texts[i : i + 32])
    elapsed = time.perf_counter() - started
    return {"model": spec, "comments": len(texts), "per_s": round(len(texts) / elapsed, 1)}


def warm(
    ctx: Any,
    base: str,
    site: dict[str, str],
    texts: list[str],
    n: int,
    receiver: CallbackReceiver,
    database_url: str | None,
) -> None:
    """Post n comments (not measured) and wait for their callbacks; then ANALYZE PostgreSQL.

    Models load lazily and a fresh PostgreSQL database has no planner statistics (with
    autovacuum off, as on the development machine, it never gets any): without this the run
    would measure a cold start and plans for empty tables, not the pipeline.
    """
    out = ctx.Queue()
    gen = ctx.Process(target=_post_all, args=(base, site, texts, n, 0.0, "warm", out), daemon=True)
    gen.start()
    ids = {r["id"] for r in out.get() if r["status"] in (200, 202)}
    gen.join()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(ids & receiver.arrived.keys()) < len(ids):
        time.sleep(0.5)
    if database_url and database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        engine.dispose()


def statement_totals(folder: Path) -> dict[tuple[str, str], int]:
    """SQL statements the service's processes have run so far, by (process, kind and table)."""
    totals: dict[tuple[str, str], int] = {}
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        role = " ".join(data["argv"][1:3]) or data["argv"][0]
        for key, n in data["counts"].items():
            totals[(role, key)] = totals.get((role, key), 0) + n
    return totals


def statement_counts(
    before: dict[tuple[str, str], int], after: dict[tuple[str, str], int], decided: int
) -> dict[str, Any]:
    """Statements run during the measured part, per decided comment."""
    by_kind: dict[str, int] = {}
    by_process: dict[str, int] = {}
    for (role, key), n in after.items():
        n -= before.get((role, key), 0)
        by_kind[key] = by_kind.get(key, 0) + n
        if key != "COMMIT":
            by_process[role] = by_process.get(role, 0) + n
    ordered = sorted(by_kind.items(), key=lambda kv: -kv[1])
    return {
        "all": round(sum(n for k, n in by_kind.items() if k != "COMMIT") / decided, 2),
        "by_process": {k: round(n / decided, 2) for k, n in by_process.items()},
        "by_kind": {k: round(n / decided, 2) for k, n in ordered[:25]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="comments per second offered")
    parser.add_argument("--burst", action="store_true", help="post as fast as the client can")
    parser.add_argument(
        "--data",
        type=Path,
        help="a JSON-lines corpus ({kind, text}); default: n distinct real comments built from "
        f"../shared/data by bench/corpus.py when it is there, else {DATA.relative_to(ROOT)}",
    )
    parser.add_argument(
        "--model",
        default="cascade",
        help="CIVIL_TOXICITY_MODEL; 'original-random': Detoxify original's BERT-base, random "
        "weights (the peer); 'tiny': the tests' checkpoint",
    )
    parser.add_argument("--database-url")
    parser.add_argument("--broker-url")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900, help="wait for callbacks (s)")
    parser.add_argument(
        "--count-statements",
        action="store_true",
        help="count the service's SQL statements per comment (SQLAlchemy listener, bench only)",
    )
    parser.add_argument(
        "--warmup", type=int, default=64, help="comments posted (and called back) before the run"
    )
    parser.add_argument(
        "--analyze-every",
        type=float,
        default=20.0,
        help="PostgreSQL: ANALYZE every this many seconds during the run (0: never), standing "
        "in for autovacuum where it is off",
    )
    parser.add_argument("--no-scorer-alone", action="store_true", help="skip the scorer-only pass")
    parser.add_argument(
        "--wait-every",
        type=int,
        default=0,
        help="every K-th comment is posted with ?wait= (0: none); its answer time is reported",
    )
    parser.add_argument("--wait", type=float, default=5.0, help="seconds those comments ask for")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="CIVIL_NAME=VALUE",
        help="a setting for the service under test (repeatable), e.g. CIVIL_WORKER_NICE=0",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    tmp = Path(tempfile.mkdtemp(prefix="civil-bench-"))
    data, corpus_name = args.data, str(args.data)
    if data is None:
        import corpus

        if corpus.SHARED.is_dir():
            # Warm-up texts come from the end of the list: build enough that none is posted twice.
            data, corpus_name = corpus.build(args.n + args.warmup, tmp), "bench/corpus.py (temp)"
        else:
            data, corpus_name = DATA, str(DATA.relative_to(ROOT))
    texts = load_texts(data)
    receiver = CallbackReceiver()
    proc, base, site, env = start_service(args, tmp, receiver.url)
    receiver.secrets.append(site["signing_secret"])
    sampler = Sampler(env, tmp, args.analyze_every)
    load_before = os.getloadavg()
    try:
        sampler.start()
        run_id = f"b{int(time.time())}"
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        if args.warmup:
            warm(ctx, base, site, texts[::-1], args.warmup, receiver, args.database_url)
        rate = 0.0 if args.burst else args.rate
        gen = ctx.Process(
            target=_post_all,
            args=(base, site, texts, args.n, rate, run_id, out, args.wait_every, args.wait),
            daemon=True,
        )
        statements_before: dict[tuple[str, str], int] = {}
        if args.count_statements:
            time.sleep(2.5)  # every process has written its counts since the warm-up
            statements_before = statement_totals(tmp / "statements")
        cpu_before, pg_before = tree_cpu(proc.pid), pg_usage(args.database_url)
        t0 = time.time()
        gen.start()
        results = out.get()
        gen.join()
        posted_s = time.time() - t0
        accepted = {r["id"]: r for r in results if r["status"] in (200, 202)}
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and len(accepted.keys() & receiver.arrived.keys()) < len(
            accepted
        ):
            time.sleep(0.5)
        drained_at = time.time()
        cpu_used = tree_cpu(proc.pid) - cpu_before
        pg_after = pg_usage(args.database_url)
        time.sleep(2.5)  # a late duplicate would show up here (and the counts are written)
        statements_after = statement_totals(tmp / "statements") if args.count_statements else {}
        sampler.stop_flag.set()
        sampler.join()
        arrived = {k: v for k, v in receiver.arrived.items() if k in accepted}
        latencies = [arrived[i] - r["sent"] for i, r in accepted.items() if i in arrived]
        span = (max(arrived.values()) - t0) if arrived else float("nan")
        pipeline_per_s = len(latencies) / span if arrived else 0.0
        intake = [r["intake_s"] * 1000 for r in results if not r["waited"]]
        waiters = [r for r in results if r["waited"]]
        decision_s = decision_latencies(env, tmp, run_id)
        alone = (
            {"model": args.model, "per_s": float("nan")}
            if args.no_scorer_alone
            else scorer_only(args.model, tmp, texts[: min(len(texts), args.n)])
        )
        decided = max(len(latencies), 1)
        cost = {
            "service_cpu_s": round(cpu_used, 1),
            "service_cpu_ms_per_comment": round(cpu_used * 1000 / decided, 1),
            "wall_s_first_post_to_last_callback": round(drained_at - t0, 1),
        }
        if pg_before and pg_after:
            delta = {k: pg_after[k] - pg_before[k] for k in pg_before}
            cost.update(
                {
                    "postgres_backend_cpu_ms_per_comment": round(
                        delta["backend_cpu_s"] * 1000 / decided, 1
                    ),
                    "postgres_commits_per_comment": round(delta["commits"] / decided, 1),
                    "postgres_rows_read_per_comment": round(delta["rows_read"] / decided, 1),
                    "postgres_rows_written_per_comment": round(delta["rows_written"] / decided, 1),
                }
            )
        report = {
            "comments": args.n,
            "corpus": {
                "file": corpus_name,
                "texts": len(texts),
                # Comment i posts texts[i % len(texts)]: past the end the texts repeat.
                "distinct_posted": len(set(texts[: args.n])),
            },
            "mode": "burst" if args.burst else f"open loop at {args.rate:g}/s",
            "offered_per_s": round(args.n / posted_s, 1),
            "accepted": len(accepted),
            "status_codes": sorted({r["status"] for r in results}),
            "called_back_verified": len(latencies),
            "lost": len(accepted) - len(latencies),
            "bad_signatures": receiver.bad_signatures,
            "webhook_ids_delivered_twice": sum(c > 1 for c in receiver.webhook_ids.values()),
            "intake_ms": {"p50": round(pct(intake, 50), 1), "p99": round(pct(intake, 99), 1)},
            "decision_s": {
                "p50": round(pct(decision_s, 50), 3),
                "p95": round(pct(decision_s, 95), 3),
                "p99": round(pct(decision_s, 99), 3),
            },
            "called_back_s": {
                "p50": round(pct(latencies, 50), 3),
                "p99": round(pct(latencies, 99), 3),
            },
            "decided_and_called_back_per_s": round(pipeline_per_s, 1),
            "scorer_only_per_s": alone["per_s"],
            "pipeline_over_scorer": round(pipeline_per_s / alone["per_s"], 3),
            "scorer": alone["model"],
            "cost": cost,
            "broker": sampler.report(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
        if waiters:
            answered = [r["intake_s"] for r in waiters]
            report["waiters"] = {
                "asked_wait_s": args.wait,
                "n": len(waiters),
                "answered_200_decided": sum(r["status"] == 200 for r in waiters),
                "answered_202_pending": sum(r["status"] == 202 for r in waiters),
                "other_status": sum(r["status"] not in (200, 202) for r in waiters),
                "answer_s_p50": round(pct(answered, 50), 3),
                "answer_s_max": round(max(answered), 3),
                # The contract: answered within the wait (1 s allowed for the request itself).
                "answered_later_than_wait_plus_1s": sum(a > args.wait + 1 for a in answered),
            }
        report["data_dir"] = str(tmp)
        if args.count_statements:
            report["statements_per_comment"] = statement_counts(
                statements_before, statements_after, decided
            )
        print(json.dumps(report, indent=2))
    finally:
        receiver.stop()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
