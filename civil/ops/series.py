"""The ops view's last hour as series: throughput, decision latency and queue age per 5 minutes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from civil.db import Database
from civil.models import Comment, utcnow

BUCKET = timedelta(minutes=5)
BUCKETS = 12
# Rows read per series, so the page stays fast on a busy hour (the newest decisions, the
# oldest undecided comments).
SAMPLE = 20_000


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[len(ordered) // 2], 3)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


def last_hour_series(db: Database, now: datetime | None = None) -> dict[str, Any]:
    """Twelve 5-minute buckets, oldest first.

    - `throughput`: decisions per minute in the bucket;
    - `latency_s`: median seconds from receipt to the automatic decision (None: no decision);
    - `queue_age_s`: at the bucket's end, how long the oldest comment not yet decided had waited.
    """
    now = _aware(now or utcnow())
    start = now - BUCKET * BUCKETS
    with db.session() as session:
        decided = session.execute(
            select(Comment.received_at, Comment.decided_at, Comment.decision)
            .where(Comment.decided_at >= start)
            .order_by(Comment.decided_at.desc())
            .limit(SAMPLE)
        ).all()
        waiting = session.execute(
            select(Comment.received_at, Comment.decided_at)
            .where(
                Comment.received_at <= now,
                or_(Comment.decided_at.is_(None), Comment.decided_at >= start),
            )
            .order_by(Comment.received_at)
            .limit(SAMPLE)
        ).all()
    counts = [0] * BUCKETS
    latencies: list[list[float]] = [[] for _ in range(BUCKETS)]
    for received_at, decided_at, decision in decided:
        at = min(int((_aware(decided_at) - start) / BUCKET), BUCKETS - 1)
        counts[at] += 1
        if (decision or {}).get("decided_by", "auto") == "auto":
            latencies[at].append((_aware(decided_at) - _aware(received_at)).total_seconds())
    ages: list[float] = []
    for i in range(BUCKETS):
        edge = min(start + BUCKET * (i + 1), now)
        oldest = next(
            (
                _aware(r)
                for r, d in waiting
                if _aware(r) <= edge and (d is None or _aware(d) > edge)
            ),
            None,
        )
        ages.append(round((edge - oldest).total_seconds(), 1) if oldest else 0.0)
    minutes = BUCKET.total_seconds() / 60
    return {
        "bucket_minutes": int(minutes),
        "starts": [(start + BUCKET * i).isoformat() for i in range(BUCKETS)],
        "throughput": [round(n / minutes, 2) for n in counts],
        "latency_s": [_median(v) for v in latencies],
        "queue_age_s": ages,
    }
