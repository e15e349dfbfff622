"""Redis killed under load and restarted empty, again and again: the worker must survive."""

from __future__ import annotations

import time

from tests.support.chaos import post_all, wait_decided, wait_settled

ROUNDS = 10


def test_redis_killed_and_restarted_empty_under_load(make_stack, pg_url, own_redis, receiver):
    stack = make_stack(database_url=pg_url, broker_url=own_redis.url)
    worker = stack.start_worker(concurrency=2)
    beat = stack.start_beat()
    site = stack.site(receiver)
    ids: list[str] = []
    for round_ in range(ROUNDS):
        ids += post_all(stack, site, 5)
        time.sleep(0.3 * (round_ % 3))  # kill at different points of the work
        own_redis.kill()
        ids += post_all(stack, site, 2)  # intake keeps storing while the broker is down
        time.sleep(2)
        own_redis.start()
        wait_decided(stack, ids, timeout=60)
        assert worker.poll() is None, f"round {round_}: worker died\n{stack.logs()}"
        assert beat.poll() is None, f"round {round_}: beat died\n{stack.logs()}"
    # A delivery message lost with Redis is re-sent once its 60 s dispatch lease runs out.
    wait_settled(stack, receiver, ids, timeout=120)
