"""Per-site delivery passes on real parts: Celery workers, Redis, PostgreSQL, loopback receivers."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import select

from civil.models import Comment, DeliveryAttempt, Event
from tests.factories import comment_body
from tests.support.chaos import post_all, wait_settled
from tests.support.moderation import decided_comment
from tests.support.receiver import Receiver


class QueueSampler(threading.Thread):
    """The delivery queue's length in Redis, every 20 ms, while the test runs."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url)
        self.samples: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.samples.append(int(self.client.llen("delivery")))

    def stop(self) -> int:
        self.done.set()
        self.join(5)
        return max(self.samples, default=0)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started = [Receiver().start() for _ in range(3)]
    yield started
    for r in started:
        r.stop()


def worker_lines(stack: Any, message: str) -> list[dict[str, Any]]:
    """The workers' JSON log lines whose message starts with ``message``."""
    found = []
    for path in stack.tmp.glob("w*.log"):
        for line in path.read_text().splitlines():
            if line.startswith("{") and message in line:
                record = json.loads(line)
                if record["message"].startswith(message):
                    found.append(record)
    return found


def passes(stack: Any) -> int:
    """Delivery passes the workers ran (Celery's per-task line, kept at DEBUG)."""
    return sum("succeeded" in r["message"] for r in worker_lines(stack, "Task civil.deliver_site["))


def wait_scheduler(stack: Any, timeout: float = 60) -> None:
    from civil.ops.health import live_schedulers

    deadline = time.monotonic() + timeout
    while not live_schedulers(stack.db, stack.settings):
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.2)


def test_a_burst_is_called_back_in_few_passes_over_one_connection_per_process(
    make_stack, pg_url, redis_url, receivers
):
    stack = make_stack(database_url=pg_url, broker_url=redis_url, log_level="DEBUG")
    sites = [stack.site(r) for r in receivers]
    counts = (40, 10, 10)
    # Posted while no worker runs: the whole burst waits in the scoring queue.
    ids = {s.site_id: post_all(stack, s, n) for s, n in zip(sites, counts, strict=True)}
    sampler = QueueSampler(redis_url)
    sampler.start()
    stack.start_worker(concurrency=2)
    stack.start_beat()
    for site, receiver in zip(sites, receivers, strict=True):
        wait_settled(stack, receiver, ids[site.site_id], timeout=120)
    most_queued = sampler.stop()
    # Never more than one pass message per site in the broker (there are three sites).
    assert 1 <= most_queued <= len(sites), sampler.samples
    for receiver, n in zip(receivers, counts, strict=True):
        assert len(receiver.received) == n  # every callback once, none retried
        # Kept alive: one connection per worker process that sent to it, not one per callback.
        assert 1 <= receiver.connections <= 2
    # Far fewer passes (broker messages) than callbacks; before passes it was one each.
    assert 3 <= passes(stack) <= sum(counts) // 4, passes(stack)


def test_a_site_that_times_out_does_not_hold_up_another_sites_callbacks(
    make_stack, pg_url, redis_url, receivers
):
    """Bounded by time and stopped at the first timeout, a failing site's pass yields."""
    slow, fast, _ = receivers
    slow.delay = 3.0  # well past the timeout: every callback to it times out
    stack = make_stack(
        database_url=pg_url,
        broker_url=redis_url,
        delivery_timeout_seconds=0.5,
        log_level="DEBUG",
    )
    stuck, healthy = stack.site(slow), stack.site(fast)
    post_all(stack, stuck, 20)
    healthy_ids = post_all(stack, healthy, 5)
    stack.start_worker(concurrency=1)  # one process: the two sites take turns on it
    stack.start_beat()
    got = fast.wait_for(lambda rs: len(rs) >= 5, timeout=90)
    with stack.db.session() as session:
        decided = {
            c.external_id: c.decided_at.timestamp()
            for c in session.scalars(select(Comment).where(Comment.external_id.in_(healthy_ids)))
        }
        by_comment = {
            e.payload["data"]["comment_id"]: e.id
            for e in session.scalars(select(Event).where(Event.site_id == healthy.site_id))
        }
    arrived = {r.webhook_id: r.at for r in got}

    def tried() -> int:
        with stack.db.session() as session:
            return int(
                session.query(DeliveryAttempt)
                .join(Event, Event.id == DeliveryAttempt.event_id)
                .where(Event.site_id == stuck.site_id)
                .count()
            )

    # The healthy site's pass may run first and finish before the stuck site's is tried.
    deadline = time.monotonic() + 20
    while tried() == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    waits = [arrived[by_comment[c]] - decided[c] for c in healthy_ids]
    # Each pass of the stuck site ends at its first timeout (0.5 s); one callback to each of
    # its 20 events in turn would have kept the healthy site waiting 10 s and more.
    assert max(waits) < 3.0, waits
    attempts = tried()
    assert 1 <= attempts <= 6, attempts
    # The stuck site recovers: everything it was owed arrives, under its own webhook-ids.
    slow.delay = 0.0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with stack.db.session() as session:
            owed = list(session.scalars(select(Event).where(Event.site_id == stuck.site_id)))
        if len(owed) == 20 and all(e.status == "delivered" for e in owed):
            break
        time.sleep(0.3)
    assert len(owed) == 20 and {e.status for e in owed} == {"delivered"}, stack.logs()
    assert {e.id for e in owed} <= {r.webhook_id for r in slow.received}
    # Its failing passes stopped at their first timed-out callback.
    stopped = worker_lines(stack, "delivery pass stopped: ReadTimeout")
    assert stopped and {r["sent"] for r in stopped} == {1}


def test_retries_back_off_per_site_and_keep_their_webhook_id(make_stack, pg_url, redis_url):
    receiver = Receiver().start()
    try:
        stack = make_stack(database_url=pg_url, broker_url=redis_url)
        stack.start_worker()
        stack.start_beat()
        wait_scheduler(stack)  # its dispatcher sends the retries
        site = stack.site(receiver)
        receiver.script.extend([(503, {}), (503, {}), (503, {})])
        stack.post(site, comment_body())
        got = receiver.wait_for(lambda rs: len(rs) >= 4, timeout=60)
        assert len({r.webhook_id for r in got}) == 1 and [r.status for r in got] == [
            503,
            503,
            503,
            204,
        ]
        gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
        # Backoff base 0.5 s, max 2 s (FAST): between half and all of 0.5, 1, 2 seconds, plus
        # up to a dispatcher poll (1 s) each.
        for gap, ceiling in zip(gaps, (0.5, 1.0, 2.0), strict=True):
            assert ceiling / 2 - 0.05 <= gap <= ceiling + 1.5, gaps
        event = stack.wait_event(got[0].webhook_id, "delivered")
        assert event.attempts == 4
    finally:
        receiver.stop()


def test_a_message_queued_before_the_upgrade_is_still_delivered(
    make_stack, pg_url, redis_url, receiver
):
    """`civil.deliver_event(event_id)` from an older producer: delivered once, never again."""
    stack = make_stack(database_url=pg_url, broker_url=redis_url)
    site = stack.site(receiver)
    comment_id = decided_comment(stack.db, site.site_id)  # its site's pass never woken
    with stack.db.session() as session:
        [event_id] = session.scalars(select(Event.id).where(Event.comment_id == comment_id))
    producer = stack.app.extensions["civil"]["producer"]
    producer.send_task("civil.deliver_event", args=(event_id,), queue="delivery")
    stack.start_worker()
    stack.start_beat()
    got = receiver.wait_for(lambda rs: len(rs) >= 1, timeout=60)
    assert stack.wait_event(event_id, "delivered").status == "delivered"
    time.sleep(2.5)  # two dispatcher rounds: nothing is sent again
    assert (
        Counter(r.webhook_id for r in receiver.received)
        == {event_id: 1}
        == Counter(r.webhook_id for r in got)
    )
