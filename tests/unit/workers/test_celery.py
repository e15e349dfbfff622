"""`celery -A workers.celery` finds the app, its tasks and the per-process signal handlers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# Run in a fresh interpreter, as the celery command does: importing the entry point builds the
# app from the environment, and the handlers stay connected for the life of the process.
PROBE = """
import json
from celery.app.utils import find_app
from celery import signals

app = find_app("workers.celery")
app.loader.import_default_modules()
handlers = {
    name: sorted(
        f"{r[1]().__module__}.{r[1]().__name__}" for r in getattr(signals, name).receivers
    )
    for name in ("worker_init", "worker_process_init", "worker_ready", "worker_shutdown")
}
print(json.dumps({
    "app": app.main,
    "same": find_app("workers") is app,
    "tasks": sorted(t for t in app.tasks if t.startswith("civil.")),
    "handlers": handlers,
}))
"""


def test_the_entry_point_is_the_app_with_its_tasks_and_signal_handlers(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIL_")}
    env["CIVIL_DATA_DIR"] = str(tmp_path / "var")
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found["app"] == "civil" and found["same"]
    assert found["tasks"] == [
        "civil.apply_retention",
        "civil.deliver_event",
        "civil.deliver_site",
        "civil.dispatch_deliveries",
        "civil.notify_moderators",
        "civil.score_comment",
        "civil.sweep_pending",
    ]
    for signal, handler in (
        ("worker_init", "_on_worker_init"),
        ("worker_process_init", "_on_process_init"),
        ("worker_ready", "_on_ready"),
        ("worker_shutdown", "_on_shutdown"),
    ):
        assert f"workers.celery.{handler}" in found["handlers"][signal], found["handlers"]
    # Connected once, by the entry point only (tasks.py is only tasks).
    connected = [h for hs in found["handlers"].values() for h in hs if h.startswith("workers.")]
    assert len(connected) == 4, connected
