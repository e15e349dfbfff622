"""Fill N comments (default 100k) and time the moderator queue's pages, filters and counts.

    python bench/queue_bench.py [-n 100000] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Without --pg (or --database-url of an empty database) it uses a fresh SQLite file. The schema
comes from the real migrations; the timed calls are the ones the workspace and GET /v1/queue make.
Keyset paging is compared with what OFFSET paging would cost at the same depth.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from civil.db import Database
from civil.migrate import upgrade
from civil.models import Article, Author, Comment, Site
from civil.moderation import queue, review
from civil.moderation.accounts import Identity
from civil.settings import Settings

STATUSES = ["held"] * 4 + ["approved"] * 5 + ["rejected"]
TAGS = [",toxic,", ",spam,", ",links,spam,", ",words,", ",premoderation,", None]


def fill(db: Database, n: int, sites: int = 4, seed: int = 7) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    start = datetime(2026, 10, 1, tzinfo=UTC)
    with db.session() as session:
        for s in range(sites):
            session.add(
                Site(
                    id=f"site_{s}",
                    name=f"Site {s}",
                    api_key_prefix="x",
                    api_key_hash="x",
                    signing_secret="x",  # noqa: S106 - a placeholder row
                    policy={},
                )
            )
        session.flush()
        session.execute(
            insert(Article),
            [
                {"site_id": f"site_{a % sites}", "external_id": f"a-{a}", "title": f"Article {a}"}
                for a in range(400)
            ],
        )
        session.execute(
            insert(Author),
            [
                {"site_id": f"site_{a % sites}", "external_id": f"u-{a}", "first_seen_at": start}
                for a in range(8000)
            ],
        )
    batch: list[dict[str, Any]] = []
    for i in range(n):
        status = rng.choice(STATUSES)
        received = start + timedelta(seconds=i * 20)
        tags = rng.choice(TAGS) if status != "approved" else None
        batch.append(
            {
                "site_id": f"site_{i % sites}",
                "external_id": f"c-{i}",
                "article_id": 1 + (i % 400),
                "author_id": 1 + (i % 8000),
                "content": f"comment number {i} about the council and the bike lanes",
                "content_hash": f"{i:064d}",
                "ip": f"203.0.113.{i % 250}",
                "received_at": received,
                "status": status,
                "decided_at": received + timedelta(seconds=1),
                "decision": {
                    "action": {"held": "hold", "approved": "approve", "rejected": "reject"}[status],
                    "decided_by": "auto",
                    "reasons": [],
                    "scores": {"toxicity": {"toxicity": rng.random()}, "spam": rng.random()},
                    "model": "bench",
                    "decided_at": (received + timedelta(seconds=1)).isoformat(),
                },
                "reason_tags": tags,
                "revision": 1,
                "score_attempts": 1,
                "content_type": "text/plain",
            }
        )
        if len(batch) == 5000:
            with db.session() as session:
                session.execute(insert(Comment), batch)
            batch = []
    if batch:
        with db.session() as session:
            session.execute(insert(Comment), batch)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


def timed(fn: Callable[[], Any], repeat: int = 15) -> dict[str, float]:
    fn()  # warm the cache: the figure is a steady-state page, not a cold disk read
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "max_ms": round(max(samples), 2),
    }


def run(db: Database, n: int) -> dict[str, Any]:
    admin = Identity(0, "bench@example.org", True, None)
    one_site = Identity(1, "mod@example.org", False, frozenset({"site_1"}))
    out: dict[str, Any] = {"comments": n, "database": db.engine.dialect.name}
    with db.session() as session:
        held = queue.QueueFilter()
        out["held"] = queue.queue_count(session, admin, held)
        # A cursor halfway down the held queue: what page N of a deep queue costs.
        middle = session.execute(
            select(Comment.received_at, Comment.id)
            .where(Comment.status == "held")
            .order_by(Comment.received_at, Comment.id)
            .offset(out["held"] // 2)
            .limit(1)
        ).one()
        deep = queue.encode_cursor(middle[0], middle[1])

        def page(flt: queue.QueueFilter, who: Identity = admin, cursor: str | None = None):
            return lambda: queue.queue_page(session, who, flt, cursor, 25)

        def offset_page() -> Any:
            return list(
                session.scalars(
                    select(Comment)
                    .where(Comment.status == "held")
                    .order_by(Comment.received_at, Comment.id)
                    .offset(out["held"] // 2)
                    .limit(26)
                )
            )

        def rendered_page() -> Any:
            rows, _ = queue.queue_page(session, admin, held, None, 25)
            return [review.item_view(session, c, full=False) for c in rows]

        out["timings"] = {
            "first_page_held": timed(page(held)),
            "deep_page_held_keyset": timed(page(held, cursor=deep)),
            "deep_page_held_offset_for_comparison": timed(offset_page),
            "first_page_one_site_moderator": timed(page(held, one_site)),
            "reason_toxic": timed(page(queue.QueueFilter(reason="toxic"))),
            "by_ip": timed(page(queue.QueueFilter(ip="203.0.113.7"))),
            "by_author": timed(page(queue.QueueFilter(author="u-77"))),
            "by_author_on_site": timed(page(queue.QueueFilter(author="u-77", site_id="site_1"))),
            "recently_approved": timed(page(queue.QueueFilter(view="approved"))),
            "search_text": timed(page(queue.QueueFilter(q="number 99999")), repeat=5),
            "count_held": timed(lambda: queue.queue_count(session, admin, held)),
            "first_page_with_item_details": timed(rendered_page, repeat=5),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--pg",
        metavar="ADMIN_URL",
        help="create a throw-away database on this PostgreSQL server (and drop it after)",
    )
    args = parser.parse_args()
    if args.pg:
        import psycopg

        name = f"civil_queue_bench_{int(time.time())}"
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            bench(args.n, args.pg.rsplit("/", 1)[0] + "/" + name)
        finally:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    bench(args.n, args.database_url)


def bench(n: int, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({}, data_dir=Path(tmp), database_url=database_url)
        upgrade(settings)
        db = Database(settings)
        started = time.perf_counter()
        fill(db, n)
        filled = time.perf_counter() - started
        result = run(db, n)
        result["fill_s"] = round(filled, 1)
        db.engine.dispose()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
