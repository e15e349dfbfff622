"""Spam scorer speed on one core: comments/s batched (as the pipeline calls it) and one at a time.

    python bench/spam_bench.py [--n 4000] [--batch 32] [--cores 0] [--storage]

Measures the full spam scorer: cleaning and URL restoration, every content signal (links,
author, gibberish, greetings, off-topic against the article), the text model and the
combiner, plus a MinHash signature per comment (the near-duplicate index's CPU work).
Storage round trips (Redis counters, the reputation and near-duplicate lookups) are network
and are excluded. Comments are the shipped article-comment set (with their articles) and the
YouTube and SMS texts when ../shared/data/spam is present. The process is pinned to one core.

``--storage`` also times ``civil.spam.service.assess`` as the pipeline runs it: comments stored
in a fresh SQLite database, facts gathered from it (velocity, near-duplicates, reputation) and
each comment's fingerprint written, one transaction per batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from civil.spam import neardup
from civil.spam.features import SpamInput
from civil.spam.scorer import SpamScorer
from civil.spam.textmodel import DEFAULT_DIR, SpamTextModel
from civil.spam.training import train
from civil.spam.training.evaluate import BLOG_CSV, read_csv


def comments(n: int) -> list[SpamInput]:
    """``n`` real comments, cycling through what is available."""
    items = [row.item for row in read_csv(BLOG_CSV)]
    if train.DEFAULT_DATA.exists():
        items += [SpamInput(content=e.text) for e in train.load_shared(train.DEFAULT_DATA)]
    return (items * (n // len(items) + 1))[:n]


def run(scorer: SpamScorer, items: list[SpamInput], batch: int) -> tuple[float, float, list[float]]:
    """Comments per wall second, per CPU second, and the milliseconds each batch took.

    CPU seconds (this process's) are what "per core" means on a shared machine: other jobs
    stretch the wall clock but not the CPU time this process used.
    """
    timings = []
    began, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        t0 = time.perf_counter()
        results = scorer.score_batch(chunk)
        for item in chunk:
            neardup.signature(item.content)
        timings.append((time.perf_counter() - t0) * 1000)
        assert len(results) == len(chunk)
    wall, used = time.perf_counter() - began, time.process_time() - cpu
    return len(items) / wall, len(items) / used, timings


def storage_run(items: list[SpamInput], batch: int) -> float:
    """Comments per second through ``assess`` on a fresh SQLite database (CPU + SQLite I/O)."""
    import tempfile

    from civil.comments import submit_comment
    from civil.db import Database
    from civil.migrate import upgrade
    from civil.models import Comment
    from civil.schema import CommentIn
    from civil.settings import Settings
    from civil.sites import create_site
    from civil.spam.service import assess

    settings = Settings.from_env({}, data_dir=Path(tempfile.mkdtemp()), broker_url="")
    upgrade(settings)
    db = Database(settings)
    with db.session() as session:
        site = create_site(session, name="bench", callback_url=None, allow_private=True)
    ids = []
    for n, item in enumerate(items):
        body = {
            "id": f"c-{n}",
            "article": {
                "id": f"a-{n % 50}",
                "title": item.article_title,
                "text": item.article_text,
            },
            "author": {"id": f"u-{n % 300}", "email": item.author_email, "ip": "192.0.2.1"},
            "content": item.content or ".",
        }
        ids.append(submit_comment(db, site.site_id, CommentIn.model_validate(body)).comment_id)
    began = time.perf_counter()
    for start in range(0, len(ids), batch):
        with db.session() as session:
            comments = [session.get(Comment, i) for i in ids[start : start + batch]]
            assess(session, comments, settings)
    return len(ids) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--cores", default="0", help="CPU cores to pin to (default one: 0)")
    parser.add_argument("--storage", action="store_true", help="also time assess() on SQLite")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(c) for c in args.cores.split(",")})
    began = time.perf_counter()
    scorer = SpamScorer(SpamTextModel.load(DEFAULT_DIR))
    load_s = time.perf_counter() - began
    items = comments(args.n)
    run(scorer, items[:200], args.batch)  # warm caches (regexes, article vocabularies)
    batched, batched_cpu, _ = run(scorer, items, args.batch)
    single, single_cpu, singles = run(scorer, items[: min(len(items), 1000)], 1)
    chars = statistics.mean(len(i.content) for i in items)
    print(f"spam model load: {load_s:.2f}s ({Path(DEFAULT_DIR).name}), cores {args.cores}")
    print(
        f"batched {args.batch}: {batched:,.0f} comments/s wall, {batched_cpu:,.0f} per CPU "
        f"second ({len(items)} comments, mean {chars:.0f} chars)"
    )
    singles.sort()
    print(
        f"one at a time: {single:,.0f} comments/s wall, {single_cpu:,.0f} per CPU second, "
        f"p50 {singles[len(singles) // 2]:.2f} ms, "
        f"p95 {singles[int(len(singles) * 0.95)]:.2f} ms"
    )
    if args.storage:
        n = min(len(items), 2000)
        speed = storage_run(items[:n], args.batch)
        print(f"with SQLite storage (assess, batches of {args.batch}): {speed:,.0f} comments/s")


if __name__ == "__main__":
    main()
