"""A whole worker SIGKILLed under load (main process and pool): another one finishes the work."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.support.chaos import post_all, wait_settled


def pool_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_worker_sigkilled_under_load_loses_nothing(make_stack, own_redis, pg_url, receiver):
    stack = make_stack(
        database_url=pg_url,
        broker_url=own_redis.url,
        # Messages the dead worker had taken come back after this; the sweeper covers the rest.
        visibility_timeout=10,
        task_soft_time_limit=4,
        task_hard_time_limit=5,
        sweep_after_seconds=5,
    )
    first = stack.start_worker("w1", concurrency=2)
    stack.start_worker("w2", concurrency=1)
    stack.start_beat()
    site = stack.site(receiver)
    ids = post_all(stack, site, 20)
    time.sleep(0.5)  # mid-batch
    for pid in [first.pid, *pool_of(first.pid)]:
        os.kill(pid, signal.SIGKILL)
    ids += post_all(stack, site, 10)
    # The killed worker ran two tasks at a time: at most two deliveries in flight.
    wait_settled(stack, receiver, ids, timeout=120, in_flight=2)
