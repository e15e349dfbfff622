"""Redis behind Sentinel: the master SIGKILLed under load, a replica promoted, nothing lost.

The broker URL lists three Sentinels (`sentinel://…;sentinel://…`, master `civil`). The worker,
the scheduler and the API's producer find the new master through them; so do what Civil keeps
in Redis directly (spam velocity counters, rate-limit counters), which must land on the new
master, not on the dead one or a replica.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.chaos import post_all, wait_settled
from tests.support.services import OwnSentinel


@pytest.fixture
def sentinel() -> Iterator[OwnSentinel]:
    folder = Path(tempfile.mkdtemp(prefix="civil-sentinel-"))
    group = OwnSentinel(folder)
    try:
        yield group.start()
    finally:
        group.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_sentinel_failover_under_load(make_stack, pg_url, sentinel, receiver):
    stack = make_stack(
        database_url=pg_url, broker_url=sentinel.url, broker_master_name=OwnSentinel.MASTER
    )
    assert stack.settings.redis_url.startswith("redis+sentinel://")
    worker = stack.start_worker(concurrency=2)
    beat = stack.start_beat()
    site = stack.site(receiver)
    ids = post_all(stack, site, 10)

    posted: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            posted.extend(post_all(stack, site, 1))
            time.sleep(0.1)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    time.sleep(1)
    sentinel.master.kill()
    killed = time.monotonic()
    while sentinel.master_port() != sentinel.replica.port:
        assert time.monotonic() - killed < 30, "Sentinel never promoted the replica"
        time.sleep(0.1)
    promoted_s = time.monotonic() - killed
    time.sleep(3)
    stop.set()
    loader.join()
    ids += posted
    wait_settled(stack, receiver, ids, timeout=120)
    recovered_s = time.monotonic() - killed
    print(f"\nsentinel: replica promoted {promoted_s:.1f}s after the kill; "
          f"{len(ids)} comments settled {recovered_s:.1f}s after it")  # fmt: skip
    assert worker.poll() is None and beat.poll() is None, stack.logs()

    # A worker that saw Redis fail counts velocity in the database for 30 s; past that, and
    # with the lost messages re-sent (above), comments posted now go through the new master.
    new_master = redis.Redis(port=sentinel.replica.port, socket_timeout=2)
    velocity_before = {k: new_master.dump(k) for k in new_master.keys("civil:spam:v:*")}
    limits_before = {k: new_master.dump(k) for k in new_master.keys("LIMITS*")}
    after = post_all(stack, site, 10)
    wait_settled(stack, receiver, ids + after, timeout=60)

    # What Civil writes to Redis itself followed the failover: comments posted after it added
    # velocity counters and moved the rate-limit windows on the new master.
    assert new_master.info("replication")["role"] == "master"
    velocity_after = {k: new_master.dump(k) for k in new_master.keys("civil:spam:v:*")}
    assert velocity_after != velocity_before, "spam velocity counters not on the new master"
    limits_after = {k: new_master.dump(k) for k in new_master.keys("LIMITS*")}
    assert limits_after and limits_after != limits_before, "rate limits not on the new master"
