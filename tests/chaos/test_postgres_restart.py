"""PostgreSQL restarted mid-load (this suite's own cluster): nothing accepted is lost."""

from __future__ import annotations

import threading
import time

from tests.support.chaos import post_accepted, post_all, wait_settled


def test_postgres_restarted_mid_load(make_stack, own_pg, own_redis, receiver):
    database = own_pg.create_database("civil_chaos")
    stack = make_stack(database_url=database, broker_url=own_redis.url)
    worker = stack.start_worker(concurrency=2)
    beat = stack.start_beat()
    site = stack.site(receiver)
    ids = post_all(stack, site, 10)
    restart = threading.Thread(target=own_pg.restart, args=(3,))
    restart.start()
    accepted, refused = [], []
    while restart.is_alive():
        got, failed = post_accepted(stack, site, 1)
        accepted += got
        refused += failed
        time.sleep(0.2)
    restart.join()
    assert refused, "the database never looked down to the API"
    ids += accepted + post_all(stack, site, 10)
    wait_settled(stack, receiver, ids, timeout=120)
    assert worker.poll() is None and beat.poll() is None, stack.logs()
