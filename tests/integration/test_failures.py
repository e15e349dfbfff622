"""What happens when things break: killed workers, a broker outage, failing endpoints."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import select

from civil.models import Comment, Event
from tests.factories import comment_body

SLOW = "python:tests.support.scorers:SlowScorer"


@pytest.fixture
def markers(tmp_path, monkeypatch):
    path = tmp_path / "markers"
    path.mkdir()
    monkeypatch.setenv("TEST_SCORER_MARKER_DIR", str(path))
    monkeypatch.setenv("TEST_SCORER_SLOW_SECONDS", "3")
    return path


def wait_marker(markers, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(markers.iterdir())
        if found:
            return int(found[0].read_text())
        time.sleep(0.05)
    raise AssertionError("scoring never started")


def decided_events(stack, external_id):
    with stack.db.session() as s:
        comment = s.scalar(select(Comment).where(Comment.external_id == external_id))
        events = s.scalars(select(Event).where(Event.comment_id == comment.id)).all()
        return comment, events


def test_sigkill_of_the_process_running_the_task_loses_nothing(
    make_stack, pg_url, redis_url, receiver, markers
):
    stack = make_stack(database_url=pg_url, broker_url=redis_url, toxicity_model=SLOW)
    stack.start_worker(concurrency=1)
    site = stack.site(receiver)
    body = comment_body()
    assert stack.post(site, body).status_code == 202
    child = wait_marker(markers)
    os.kill(child, signal.SIGKILL)  # mid-task: the scorer is sleeping inside the task
    view = stack.wait_decided(site, body["id"], timeout=60)
    assert view["status"] == "approved"
    got = receiver.wait_for(lambda rs: len(rs) >= 1)
    comment, events = decided_events(stack, body["id"])
    assert comment.score_attempts == 2  # run, killed, run again
    assert len(events) == 1  # decided exactly once
    assert stack.wait_event(events[0].id, "delivered").status == "delivered"
    assert {r.webhook_id for r in got} == {events[0].id} and all(r.verified for r in got)


def test_sigkill_of_the_whole_worker_is_recovered_by_another(
    make_stack, pg_url, redis_url, receiver, markers
):
    stack = make_stack(
        database_url=pg_url,
        broker_url=redis_url,
        toxicity_model=SLOW,
        task_soft_time_limit=8,
        task_hard_time_limit=10,
        visibility_timeout=20,
        sweep_after_seconds=12,
    )
    first = stack.start_worker("w1", concurrency=1)
    stack.start_beat()
    site = stack.site(receiver)
    body = comment_body()
    stack.post(site, body)
    child = wait_marker(markers)
    for pid in (first.pid, child):
        os.kill(pid, signal.SIGKILL)
    first.wait()
    stack.start_worker("w2", concurrency=1)
    view = stack.wait_decided(site, body["id"], timeout=90)
    assert view["status"] == "approved"
    receiver.wait_for(lambda rs: len(rs) >= 1)
    comment, events = decided_events(stack, body["id"])
    assert len(events) == 1 and comment.score_attempts >= 2
    assert {r.webhook_id for r in receiver.received} == {events[0].id}


def test_poison_comment_is_stopped_after_max_attempts(make_stack, pg_url, redis_url, receiver):
    stack = make_stack(
        database_url=pg_url,
        broker_url=redis_url,
        task_max_attempts=3,
        toxicity_model="python:tests.support.scorers:CrashingScorer",
    )
    stack.start_worker(concurrency=1)
    site = stack.site(receiver, on_scorer_failure="hold")
    body = comment_body()
    stack.post(site, body)
    view = stack.wait_decided(site, body["id"], timeout=90)
    assert view["status"] == "held"
    reason = view["decision"]["reasons"][0]
    assert reason["code"] == "scorer_unavailable" and "3 times" in reason["detail"]
    comment, events = decided_events(stack, body["id"])
    # Three runs died with their process; the fourth decided by the failure policy.
    assert comment.score_attempts == 4 and len(events) == 1


def test_broker_outage_comment_is_kept_and_swept_later(make_stack, pg_url, redis_url, receiver):
    from dataclasses import replace

    from service import create_app

    stack = make_stack(database_url=pg_url, broker_url=redis_url)
    site = stack.site(receiver)
    # An API whose broker is down (nothing listens on port 1): intake still stores and answers.
    down_app = create_app(replace(stack.settings, broker_url="redis://127.0.0.1:1/0"))
    body = comment_body()
    r = down_app.test_client().post(
        f"/v1/sites/{site.site_id}/comments",
        json=body,
        headers={"Authorization": f"Bearer {site.api_key}"},
    )
    down_app.extensions["civil"]["db"].engine.dispose()
    assert r.status_code == 202 and r.json["status"] == "pending"
    stack.start_worker()
    time.sleep(2)
    assert stack.get(site, body["id"]).json["status"] == "pending"  # nothing was queued
    stack.start_beat()  # the sweeper re-queues it
    view = stack.wait_decided(site, body["id"], timeout=60)
    assert view["status"] in {"approved", "held", "rejected"}
    receiver.wait_for(lambda rs: len(rs) == 1)


def test_failed_callbacks_are_retried_then_delivered(pg_redis_stack, receiver):
    stack = pg_redis_stack
    stack.start_worker()
    stack.start_beat()
    receiver.script.extend([(500, {}), (503, {"Retry-After": "1"}), (204, {})])
    site = stack.site(receiver)
    body = comment_body()
    stack.post(site, body)
    got = receiver.wait_for(lambda rs: len(rs) >= 3, timeout=60)
    assert len({r.webhook_id for r in got}) == 1  # the same event, re-sent
    event = stack.wait_event(got[0].webhook_id, "delivered")
    assert event.status == "delivered" and event.attempts == 3
    r = stack.client.get(
        f"/v1/sites/{site.site_id}/deliveries/{event.id}",
        headers={"Authorization": f"Bearer {site.api_key}"},
    )
    assert [a["status_code"] for a in r.json["log"]] == [500, 503, 204]


def test_dead_letter_is_visible_and_replayable(make_stack, pg_url, redis_url, receiver):
    stack = make_stack(database_url=pg_url, broker_url=redis_url, delivery_retry_hours=3 / 3600)
    stack.start_worker()
    stack.start_beat()
    receiver.script.extend([(500, {})] * 50)
    site = stack.site(receiver)
    stack.post(site, comment_body())
    auth = {"Authorization": f"Bearer {site.api_key}"}
    deadline = time.monotonic() + 60
    dead = []
    while time.monotonic() < deadline and not dead:
        dead = stack.client.get(
            f"/v1/sites/{site.site_id}/deliveries?status=dead", headers=auth
        ).json["deliveries"]
        time.sleep(0.3)
    assert dead and dead[0]["last_error"] == "HTTP 500" and dead[0]["attempts"] >= 2
    receiver.script.clear()
    replay = stack.client.post(
        f"/v1/sites/{site.site_id}/deliveries/{dead[0]['id']}/replay", headers=auth
    )
    assert replay.status_code == 202
    receiver.wait_for(
        lambda rs: (
            rs and rs[-1].body["type"] == "comment.decided" and len(rs) > dead[0]["attempts"]
        ),
        timeout=30,
    )
    assert stack.wait_event(dead[0]["id"], "delivered").status == "delivered"
