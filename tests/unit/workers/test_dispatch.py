"""The dispatcher reads how many delivery messages the broker holds (the embedded folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# A fresh interpreter: importing the entry point builds the app from the environment.
PROBE = """
import json
from workers import tasks

before = tasks.queued_deliveries()
for n in range(3):
    tasks.deliver_event.apply_async(("msg_%d" % n,), queue="delivery")
tasks.score_comment.apply_async((1, 1), queue="scoring")  # another queue: not counted
print(json.dumps([before, tasks.queued_deliveries()]))
"""


def probe(env_overrides: dict[str, str]) -> list[int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIL_")}
    env.update(env_overrides)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_queued_deliveries_counts_the_folder_brokers_delivery_messages(tmp_path):
    assert probe({"CIVIL_DATA_DIR": str(tmp_path / "var")}) == [0, 3]
