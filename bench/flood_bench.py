"""A spam flood: per-comment cost of deciding copies of one text against ordinary comments.

    python bench/flood_bench.py --pg postgresql://postgres@127.0.0.1:5432/postgres \
        [--copies 10000] [-n 200]

Makes a fresh PostgreSQL database, stores ``--copies`` earlier copies of one spam text on the
site, spread over articles, each with its own author and IP: the comment rows (the repeat
count reads them) and their near-duplicate fingerprints, as the scorer leaves them. Then it
decides ``n`` ordinary comments (real ones, from ``bench/data/comments.jsonl``) and ``n`` new
copies, interleaved, through the real pipeline (store, claim, spam facts with the
near-duplicate lookup, policy, decision and events), with the linear toxicity model. It prints
milliseconds per comment for each kind, their ratio, and how the copies were decided.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPAM = (
    "Make 800 dollars a day working from home, no experience needed, message me on telegram "
    "or visit my profile link to start earning today"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--copies", type=int, default=10_000)
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()

    from civil.comments import submit_comment
    from civil.db import Database
    from civil.decision import pipeline
    from civil.migrate import upgrade
    from civil.models import Comment, utcnow
    from civil.schema import CommentIn
    from civil.settings import Settings
    from civil.sites import create_site
    from civil.spam import neardup
    from civil.toxicity.loader import load_scorer

    name = "civil_flood_" + secrets.token_hex(4)
    admin = psycopg.connect(args.pg, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + "/" + name
    try:
        settings = Settings(data_dir=Path(tempfile.mkdtemp()), database_url=url).resolved()
        upgrade(settings)
        db = Database(settings)
        with db.session() as s:
            site = create_site(s, name="Flooded", callback_url=None)
            sources = [create_site(s, name=f"Source {k}", callback_url=None) for k in range(5)]

        def copy_body(k: int) -> dict[str, object]:
            return {
                "id": f"flood-{k}",
                "article": {"id": f"f-{k % 400}", "title": f"Flooded story {k % 400}"},
                "author": {"id": f"spammer-{k}", "ip": f"10.9.{k >> 8 & 255}.{k & 255}"},
                "content": SPAM,
            }

        values = neardup.signature(SPAM)
        assert values is not None
        started = time.perf_counter()
        first = submit_comment(db, site.site_id, CommentIn.model_validate(copy_body(0)))
        with db.session() as s:
            digest = s.get(Comment, first.comment_id).content_hash  # type: ignore[union-attr]
            rows = [
                {
                    "site_id": site.site_id,
                    "external_id": f"flood-{k}",
                    "content": SPAM,
                    "content_hash": digest,
                    "ip": f"10.9.{k >> 8 & 255}.{k & 255}",
                    "received_at": utcnow(),
                    "status": "rejected",
                }
                for k in range(1, args.copies)
            ]
            ids = [first.comment_id, *s.scalars(insert(Comment).returning(Comment.id), rows)]
            for k, comment_id in enumerate(ids):
                neardup.add(
                    s,
                    values,
                    site_id=sources[k % 5].site_id if k % 2 else site.site_id,
                    comment_id=comment_id,
                    article_id=k % 400,
                    label=None,
                    now=utcnow(),
                )
        seeded_s = time.perf_counter() - started
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")

        linear = load_scorer("linear", settings.model_dir)

        def source() -> object:
            return linear

        texts = [
            json.loads(line)["text"]
            for line in (ROOT / "bench" / "data" / "comments.jsonl").open(encoding="utf-8")
        ]
        texts = [t for t in texts if "http" not in t][: args.n]

        def decide(i: int, content: str) -> tuple[float, str]:
            body = CommentIn.model_validate(
                {
                    "id": f"c-{i}",
                    "article": {"id": f"a-{i % 40}", "title": f"Story {i % 40}"},
                    "author": {"id": f"u-{i}", "ip": f"10.1.{i >> 8 & 255}.{i & 255}"},
                    "content": content,
                }
            )
            t0 = time.perf_counter()
            sub = submit_comment(db, site.site_id, body)
            [done] = pipeline.score_comments(db, [(sub.comment_id, sub.revision)], source)
            return time.perf_counter() - t0, done.action

        for i in range(10):  # warm the caches and the connection pool
            decide(100_000 + i, texts[i % len(texts)])
        ordinary, copies, actions = [], [], []
        for i in range(args.n):
            ordinary.append(decide(2 * i, texts[i % len(texts)])[0])
            elapsed, action = decide(2 * i + 1, SPAM)
            copies.append(elapsed)
            actions.append(action)
        o_ms, c_ms = statistics.median(ordinary) * 1000, statistics.median(copies) * 1000
        print(
            json.dumps(
                {
                    "earlier_copies": args.copies,
                    "seeded_s": round(seeded_s, 1),
                    "comments_each": args.n,
                    "ordinary_ms_p50": round(o_ms, 2),
                    "copy_ms_p50": round(c_ms, 2),
                    "ordinary_ms_mean": round(statistics.fmean(ordinary) * 1000, 2),
                    "copy_ms_mean": round(statistics.fmean(copies) * 1000, 2),
                    "copy_over_ordinary_p50": round(c_ms / o_ms, 3),
                    "copies_decided": {a: actions.count(a) for a in sorted(set(actions))},
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                },
                indent=2,
            )
        )
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
