"""`?wait=` callers are woken by the worker's notification (real Redis), not by polling."""

from __future__ import annotations

import threading
import time

from civil import decided as notify


def test_a_waiter_is_woken_by_the_decision_of_its_comment_only(redis_url):
    with notify.Waiter(redis_url, 41) as waiter:
        assert waiter.notified
        timer = threading.Timer(0.3, notify.publish_decided, (redis_url, [40, 42]))
        timer.start()
        started = time.monotonic()
        assert waiter.wait(1.0) is False  # other comments' decisions do not wake it
        assert time.monotonic() - started >= 0.9
        timer.join()
        threading.Timer(0.2, notify.publish_decided, (redis_url, [41])).start()
        started = time.monotonic()
        assert waiter.wait(5.0) is True
        assert time.monotonic() - started < 2.0


def test_without_redis_a_waiter_sleeps_and_the_caller_polls():
    with notify.Waiter(None, 7) as waiter:
        assert not waiter.notified
        started = time.monotonic()
        assert waiter.wait(0.2) is False
        assert time.monotonic() - started >= 0.2


def test_an_unreachable_redis_degrades_to_polling():
    # Nothing listens on port 1: subscribing fails, and publishing is only logged.
    with notify.Waiter("redis://127.0.0.1:1/0", 7) as waiter:
        assert not waiter.notified
    notify.publish_decided("redis://127.0.0.1:1/0", [7])


def test_wait_answers_as_soon_as_the_worker_decides(pg_redis_stack, receiver):
    from tests.factories import comment_body

    stack = pg_redis_stack
    stack.start_worker()
    site = stack.site(receiver)
    body = comment_body()
    started = time.monotonic()
    r = stack.post(site, body, wait=10)
    elapsed = time.monotonic() - started
    assert r.status_code == 200 and r.json["status"] in {"approved", "held", "rejected"}
    # Woken by the notification: well inside the 1 s fallback read after the decision.
    assert elapsed < 10
