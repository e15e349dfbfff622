"""End to end on real parts: API -> PostgreSQL -> Redis -> Celery worker -> signed callback."""

from __future__ import annotations

from sqlalchemy import select

from civil.models import Comment, Event
from civil.scoring import TOXICITY_LABELS
from tests.factories import comment_body

# The test checkpoint has random weights: policies that must approve ignore its scores.
LENIENT = {
    "thresholds": dict.fromkeys(TOXICITY_LABELS, 1.0),
    "hold_thresholds": dict.fromkeys(TOXICITY_LABELS, 1.0),
}


def test_comment_is_decided_and_callback_signed(pg_redis_stack, receiver):
    stack = pg_redis_stack
    stack.start_worker()
    site = stack.site(receiver)
    body = comment_body()
    r = stack.post(site, body, wait=10)
    assert r.status_code == 200, (r.json, stack.logs())
    decision = r.json["decision"]
    assert r.json["status"] in {"approved", "held", "rejected"}
    assert decision["decided_by"] == "auto" and decision["model"].startswith("detoxify:")
    assert set(decision["scores"]["toxicity"]) == set(TOXICITY_LABELS)
    assert 0 <= decision["scores"]["spam"] <= 1 and decision["reasons"]
    [got] = receiver.wait_for(lambda rs: len(rs) >= 1)
    assert got.verified
    assert got.body["type"] == "comment.decided"
    data = got.body["data"]
    assert data["comment_id"] == body["id"] and data["site_id"] == site.site_id
    assert data["article_id"] == "a-17" and data["decision"] == decision
    assert stack.wait_event(got.webhook_id, "delivered").status == "delivered"


def test_banned_word_rejects_and_edit_is_rescored(pg_redis_stack, receiver):
    stack = pg_redis_stack
    stack.start_worker()
    site = stack.site(receiver, banned_words=["scoundrel"], **LENIENT)
    body = comment_body(content="The author is a scoundrel.")
    first = stack.post(site, body, wait=10).json
    assert first["status"] == "rejected"
    assert "banned_word" in [r["code"] for r in first["decision"]["reasons"]]
    edited = stack.post(site, {**body, "content": "I disagree with the author."}, wait=10).json
    assert edited["revision"] == 2 and edited["status"] == "approved"
    receiver.wait_for(lambda rs: len(rs) >= 2)
    assert receiver.received[0].body["data"]["status"] == "rejected"
    assert len({r.webhook_id for r in receiver.received}) == 2


def test_reply_approved_event_names_the_parent_author(pg_redis_stack, receiver):
    stack = pg_redis_stack
    stack.start_worker()
    site = stack.site(receiver, **LENIENT)
    parent = comment_body(author={"id": "u-ada", "name": "Ada", "email": "ada@example.org"})
    assert stack.post(site, parent, wait=10).json["status"] == "approved"
    reply = comment_body(parent_id=parent["id"])
    assert stack.post(site, reply, wait=10).json["status"] == "approved"
    got = receiver.wait_for(lambda rs: any(r.body["type"] == "comment.reply_approved" for r in rs))
    event = next(r for r in got if r.body["type"] == "comment.reply_approved")
    assert event.verified
    assert event.body["data"]["parent_author"]["id"] == "u-ada"
    assert event.body["data"]["comment_id"] == reply["id"]


def test_missing_model_follows_the_failure_policy_without_crashing(
    make_stack, pg_url, redis_url, receiver, tmp_path
):
    stack = make_stack(
        database_url=pg_url,
        broker_url=redis_url,
        toxicity_model=str(tmp_path / "no-such-model.ckpt"),
    )
    stack.start_worker()
    site = stack.site(receiver, on_scorer_failure="reject")
    view = stack.post(site, comment_body(), wait=10).json
    assert view["status"] == "rejected"
    assert view["decision"]["reasons"][0]["code"] == "scorer_unavailable"
    # The worker is still alive and still answers.
    assert stack.procs[0].poll() is None
    second = stack.post(site, comment_body(), wait=10).json
    assert second["status"] == "rejected"


def test_each_comment_decided_once_under_a_burst(pg_redis_stack, receiver):
    stack = pg_redis_stack
    stack.start_worker(concurrency=2)
    site = stack.site(receiver)
    bodies = [comment_body() for _ in range(40)]
    for body in bodies:
        assert stack.post(site, body).status_code == 202
    for body in bodies:
        stack.wait_decided(site, body["id"])
    receiver.wait_for(lambda rs: len({r.webhook_id for r in rs}) >= 40)
    with stack.db.session() as s:
        events = s.scalars(select(Event)).all()
        assert len(events) == 40  # one decision event per comment, no duplicates
        assert all(c.score_attempts >= 1 for c in s.scalars(select(Comment)))
    assert {r.body["data"]["comment_id"] for r in receiver.received} == {b["id"] for b in bodies}


def test_backlog_is_scored_in_batches(
    make_stack, pg_url, redis_url, receiver, tmp_path, monkeypatch
):
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("TEST_SCORER_MARKER_DIR", str(markers))
    stack = make_stack(
        database_url=pg_url,
        broker_url=redis_url,
        score_batch_size=8,
        toxicity_model="python:tests.support.scorers:RecordingScorer",
    )
    site = stack.site(receiver)
    bodies = [comment_body() for _ in range(20)]
    for body in bodies:  # queued while no worker runs: a backlog
        assert stack.post(site, body).status_code == 202
    stack.start_worker(concurrency=1)
    for body in bodies:
        assert stack.wait_decided(site, body["id"])["status"] == "approved"
    sizes = [int(n) for n in (markers / "batches").read_text().split()]
    assert sum(sizes) == 20  # every comment scored once, none twice
    assert max(sizes) == 8 and len(sizes) <= 4  # in batches of up to 8, not 20 single calls


def test_intake_rate_limit_counts_in_redis(pg_redis_stack):
    from dataclasses import replace

    import redis

    from service import create_app

    stack = pg_redis_stack
    site = stack.site()
    app = create_app(replace(stack.settings, intake_rate_limit="3/minute"))
    client = app.test_client()
    url = f"/v1/sites/{site.site_id}/comments"
    auth = {"Authorization": f"Bearer {site.api_key}"}
    codes = [client.post(url, json=comment_body(), headers=auth).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    keys = redis.Redis.from_url(stack.settings.broker_url).keys("*site:*")
    assert keys, "the limiter's counters should live in Redis"
    # A second API process sharing Redis sees the same count.
    other = create_app(replace(stack.settings, intake_rate_limit="3/minute")).test_client()
    r = other.post(url, json=comment_body(), headers=auth)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    for a in (app, other.application):
        a.extensions["civil"]["db"].engine.dispose()
