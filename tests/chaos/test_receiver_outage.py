"""The callback receiver answers 5xx, then is down (connection refused), then comes back."""

from __future__ import annotations

import time

from tests.support.chaos import post_all, wait_settled
from tests.support.receiver import Receiver


def test_failing_then_unreachable_receiver_gets_every_event_once(make_stack, own_redis, pg_url):
    receiver = Receiver().start()
    stack = make_stack(database_url=pg_url, broker_url=own_redis.url)
    stack.start_worker(concurrency=2)
    stack.start_beat()
    site = stack.site(receiver)
    receiver.script.extend([(500, {}), (503, {"Retry-After": "1"}), (502, {})] * 4)
    ids = post_all(stack, site, 8)
    receiver.wait_for(lambda rs: len(rs) >= 6, timeout=60)
    port, secret = receiver.port, receiver.secret
    receiver.stop()  # down: connections refused
    ids += post_all(stack, site, 4)
    time.sleep(4)
    back = Receiver(secret=secret, port=port).start()
    back.received[:0] = receiver.received  # one log of everything either instance answered
    try:
        wait_settled(stack, back, ids, timeout=120)
        assert any(r.status >= 500 for r in back.received)  # failures really happened
    finally:
        back.stop()
