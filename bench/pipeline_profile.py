"""Where a comment's CPU goes, in one process: the API's intake, then the worker's scoring.

    python bench/pipeline_profile.py --pg postgresql://postgres@127.0.0.1:5432/postgres \
        --broker-url redis://127.0.0.1:6379/7 [-n 320] [--batch 32] [--model cascade] [--top 30]

Makes a fresh PostgreSQL database, posts ``n`` real comments (``bench/data/comments.jsonl``,
each with its own author and IP) through the real Flask app (test client: routing, auth, rate
limit, validation, the store, the publish to the broker), then decides them through the real
pipeline in batches (claim, facts, spam, toxicity model, decision + events), as a worker's task
does; callbacks are not sent. Each phase is timed in CPU seconds of this process (and the
PostgreSQL commits it made), and ``--top`` prints cProfile's heaviest functions per phase. No
other process shares the work, so the figures hold on a busy machine better than the end to end
bench's. A warm-up of 64 comments (not measured) loads the models; then ANALYZE.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / "data" / "comments.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("-n", type=int, default=320)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--model", default="cascade")
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from civil.db import Database
    from civil.decision import pipeline
    from civil.migrate import upgrade
    from civil.models import Comment
    from civil.settings import Settings
    from civil.sites import create_site
    from civil.toxicity.loader import load_scorer
    from service import create_app

    texts = [json.loads(line)["text"] for line in DATA.open(encoding="utf-8") if line.strip()]
    name = "civil_profile_" + secrets.token_hex(4)
    admin = psycopg.connect(args.pg, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + "/" + name
    try:
        settings = Settings(
            data_dir=Path(tempfile.mkdtemp()),
            database_url=url,
            broker_url=args.broker_url,
            intake_rate_limit="1000000/minute",
            toxicity_model=args.model,
            allow_private_callbacks=True,
        ).resolved()
        upgrade(settings)
        db = Database(settings)
        with db.session() as s:
            site = create_site(
                s, name="Profiled", callback_url="http://127.0.0.1:9/hook", allow_private=True
            )
        app = create_app(settings)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {site.api_key}"}
        scorer = load_scorer(args.model, Path(settings.model_dir), args.batch)

        def post(i: int, run: str) -> int:
            body = {
                "id": f"{run}-{i}",
                "article": {"id": f"a-{i % 50}", "title": f"Story {i % 50}"},
                "author": {
                    "id": f"u-{run}-{i}",
                    "ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                },
                "content": texts[i % len(texts)],
            }
            r = client.post(f"/v1/sites/{site.site_id}/comments", json=body, headers=headers)
            assert r.status_code == 202, r.data
            return int(r.status_code)

        def pending() -> list[tuple[int, int]]:
            from sqlalchemy import select

            with db.session() as s:
                return [
                    (r.id, r.revision)
                    for r in s.execute(
                        select(Comment.id, Comment.revision)
                        .where(Comment.status == "pending")
                        .order_by(Comment.id)
                    )
                ]

        def decide_all() -> int:
            decided = 0
            time.sleep(pipeline.BACKLOG_AFTER_S)  # the backlog is old enough to batch
            while True:
                waiting = pending()
                if not waiting:
                    return decided
                claim = pipeline.claim_scoring(
                    db, waiting[0], lambda: scorer, size=args.batch, lease_s=90, max_attempts=5
                )
                assert claim is not None
                decided += len(pipeline.score_comments(db, claim.batch, claim.scorer_source))

        def commits() -> int:
            row = admin.execute(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (name,)
            ).fetchone()
            assert row is not None
            return int(row[0])

        for i in range(64):  # warm-up: models, pools, caches
            post(i, "warm")
        decide_all()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        report: dict[str, object] = {"comments": args.n, "batch": args.batch, "model": args.model}
        for phase, work in (
            ("api_intake", lambda: [post(i, "run") for i in range(args.n)]),
            ("worker_decide", decide_all),
        ):
            profile = cProfile.Profile(time.process_time) if args.top else None
            c0, cpu0, wall0 = commits(), time.process_time(), time.perf_counter()
            if profile:
                profile.enable()
            work()
            if profile:
                profile.disable()
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            report[phase] = {
                "cpu_ms_per_comment": round(cpu * 1000 / args.n, 2),
                "wall_ms_per_comment": round(wall * 1000 / args.n, 2),
                "postgres_commits_per_comment": round((commits() - c0) / args.n, 2),
            }
            if profile:
                print(f"==== {phase}: cumulative", file=sys.stderr)
                pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(
                    args.top
                )
                print(f"==== {phase}: own time", file=sys.stderr)
                pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(args.top)
        start = time.process_time()
        scorer.score_batch(texts[: args.n])
        report["model_alone_cpu_ms_per_comment"] = round(
            (time.process_time() - start) * 1000 / args.n, 2
        )
        print(json.dumps(report, indent=2))
        db.engine.dispose()
        app.extensions["civil"]["db"].engine.dispose()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
