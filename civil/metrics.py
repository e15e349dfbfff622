"""Prometheus metrics shared by the API and the workers.

`civil run` and compose set PROMETHEUS_MULTIPROC_DIR so that counters incremented in worker
and gunicorn processes are summed by the API's /metrics. Gauges that describe the whole
deployment (queue depth, dead letters) are read from the database and broker at scrape time.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import Counter, Histogram


def ensure_multiproc_dir() -> None:
    """Create PROMETHEUS_MULTIPROC_DIR when set: every process defining a metric writes there."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)


# Before the first metric: in multiprocess mode defining one opens a file in that directory,
# and any process may import this module first (beat, flower, a one-off `civil` command).
ensure_multiproc_dir()

INTAKE = Counter(
    "civil_intake_total", "Comment submissions by outcome", ["outcome"]
)  # created, edited, unchanged, rejected_<code>
DECISIONS = Counter("civil_decisions_total", "Automatic decisions by action", ["action"])
DECISION_REASONS = Counter("civil_decision_reasons_total", "Reasons given in decisions", ["code"])
DELIVERIES = Counter("civil_deliveries_total", "Callback delivery attempts by outcome", ["outcome"])
TASK_SECONDS = Histogram(
    "civil_task_seconds",
    "Task run time",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DECISION_LATENCY = Histogram(
    "civil_decision_latency_seconds",
    "From intake to recorded decision",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
SCORE_BATCH = Histogram(
    "civil_score_batch_size", "Comments scored per model call", buckets=(1, 2, 4, 8, 16, 32, 64)
)
RETENTION_DELETED = Counter(
    "civil_retention_deleted_total",
    "Rows the retention task deleted past their site's retention_days",
    ["kind"],
)  # comments, events
ERASURES = Counter("civil_erasures_total", "Authors erased on a site's request")
