import random
from datetime import UTC, datetime, timedelta

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from civil.comments import submit_comment
from civil.delivery import events, sender
from civil.models import Comment, DeliveryAttempt, Event, Site
from civil.schema import CommentIn
from civil.sites import update_site
from tests.factories import comment_body
from tests.support.receiver import Receiver


def test_signature_verifies_with_the_standard_library_and_fails_when_tampered():
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    now = datetime.now(UTC)
    headers = sender.sign(secret, "msg_1", now, '{"a":1}')
    assert headers["webhook-id"] == "msg_1"
    Webhook(secret).verify('{"a":1}', headers)  # raises if wrong
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify('{"a":2}', headers)


def test_backoff_grows_exponentially_with_jitter_and_is_capped(settings):
    rng = random.Random(1)
    delays = [sender.backoff_seconds(n, settings, rng) for n in range(1, 16)]
    assert 2.5 <= delays[0] <= 5 and 5 <= delays[1] <= 10
    assert all(d <= settings.delivery_backoff_max_seconds for d in delays)
    assert delays[-1] >= settings.delivery_backoff_max_seconds / 2


def test_retry_after_parses_seconds_and_dates():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert sender.retry_after_seconds("120", now) == 120
    assert sender.retry_after_seconds("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60
    assert sender.retry_after_seconds("soon", now) is None


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def _decided_event(db, site, receiver, body=None):
    """Store a comment, mark it decided and build its events (as the pipeline does)."""
    with db.session() as s:
        s.get(Site, site.site_id).callback_url = receiver.url
    receiver.secret = site.signing_secret
    sub = submit_comment(db, site.site_id, CommentIn.model_validate(body or comment_body()))
    with db.session() as s:
        c = s.get(Comment, sub.comment_id)
        c.status, c.decision = "approved", {"action": "approve"}
        s.flush()
        return [e.id for e in events.build_events(s, c)]


def test_delivery_is_signed_and_logged(db, settings, site, receiver):
    [event_id] = _decided_event(db, site, receiver)
    out = sender.deliver_event(db, settings, event_id)
    assert out.result == "delivered"
    [got] = receiver.received
    assert got.verified and got.webhook_id == event_id
    assert got.body["type"] == "comment.decided"
    assert set(got.body["data"]) >= {
        "site_id",
        "comment_id",
        "status",
        "decision",
        "article_id",
        "parent_id",
    }
    with db.session() as s:
        assert s.get(Event, event_id).status == "delivered"
        assert s.query(DeliveryAttempt).filter_by(event_id=event_id).count() == 1
    # Running the task again (a redelivered message) sends nothing more.
    assert sender.deliver_event(db, settings, event_id).result == "skipped"
    assert len(receiver.received) == 1


def test_failure_schedules_retry_honouring_retry_after(db, settings, site, receiver):
    [event_id] = _decided_event(db, site, receiver)
    receiver.script.append((503, {"Retry-After": "600"}))
    out = sender.deliver_event(db, settings, event_id)
    assert out.result == "retrying" and out.status_code == 503
    with db.session() as s:
        event = s.get(Event, event_id)
        wait = (event.next_attempt_at - datetime.now(UTC)).total_seconds()
    assert 590 < wait <= 600


def test_410_disables_the_endpoint_and_dead_letters(db, settings, site, receiver):
    [event_id] = _decided_event(db, site, receiver)
    receiver.script.append((410, {}))
    assert sender.deliver_event(db, settings, event_id).result == "dead"
    with db.session() as s:
        assert s.get(Site, site.site_id).callback_disabled_at is not None
    [second] = _decided_event(db, site, receiver)
    assert sender.deliver_event(db, settings, second).result == "dead"
    assert len(receiver.received) == 1  # nothing more was sent to the disabled endpoint
    with db.session() as s:
        update_site(s, site.site_id, callback_url=receiver.url, allow_private=True)
        events.replay_event(s, second)
    assert sender.deliver_event(db, settings, second).result == "delivered"


def test_dead_letter_after_the_retry_window_then_replay(db, settings, site, receiver):
    [event_id] = _decided_event(db, site, receiver)
    with db.session() as s:
        s.get(Event, event_id).retry_since = datetime.now(UTC) - timedelta(hours=26)
    receiver.script.append((500, {}))
    out = sender.deliver_event(db, settings, event_id)
    assert out.result == "dead" and out.error == "HTTP 500"
    with db.session() as s:
        events.replay_event(s, event_id)
    assert sender.deliver_event(db, settings, event_id).result == "delivered"
    assert {r.webhook_id for r in receiver.received} == {event_id}  # stable id across replay


def test_connection_error_retries(db, settings, site, receiver):
    [event_id] = _decided_event(db, site, receiver)

    def refuse(*a, **k):
        raise requests.ConnectionError("refused")

    out = sender.deliver_event(db, settings, event_id, post=refuse)
    assert out.result == "retrying" and "ConnectionError" in out.error


def test_private_callback_refused_at_send_time_unless_allowed(db, settings, site, receiver):
    from dataclasses import replace

    [event_id] = _decided_event(db, site, receiver)
    strict = replace(settings, allow_private_callbacks=False)
    out = sender.deliver_event(db, strict, event_id)
    assert out.result == "dead" and "loopback" in out.error
    assert receiver.received == []


def test_reply_approved_carries_the_parent_author(db, settings, site, receiver):
    parent = comment_body(author={"id": "u-parent", "name": "Ada", "email": "ada@example.org"})
    _decided_event(db, site, receiver, parent)
    reply = comment_body(parent_id=parent["id"])
    ids = _decided_event(db, site, receiver, reply)
    with db.session() as s:
        types = {s.get(Event, i).type: s.get(Event, i).payload for i in ids}
    assert set(types) == {"comment.decided", "comment.reply_approved"}
    data = types["comment.reply_approved"]["data"]
    assert data["parent_author"] == {"id": "u-parent", "name": "Ada", "email": "ada@example.org"}
    assert data["parent_id"] == parent["id"]


def test_due_events_leases_so_a_second_dispatch_does_not_resend(db, site, receiver):
    [event_id] = _decided_event(db, site, receiver)
    with db.session() as s:
        s.get(Event, event_id).next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    assert events.due_events(db) == [event_id]
    assert events.due_events(db) == []


def _expire_leases(db):
    """Move every waiting event's lease into the past (as if the dispatch lease ran out)."""
    with db.session() as s:
        for event in s.query(Event).filter(Event.status.in_(("pending", "retrying"))):
            if event.next_attempt_at is not None:
                event.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
            if event.enqueued_at is not None:  # time passes for every mark alike
                event.enqueued_at -= timedelta(minutes=2)


def test_a_backlog_never_holds_more_than_one_message_per_waiting_event(
    db, settings, site, receiver
):
    """A FIFO queue of delivery messages, a dispatcher running while no worker reaches them."""
    queue = [i for _ in range(12) for i in _decided_event(db, site, receiver)]  # as published
    waiting = len(queue)
    for _ in range(5):  # five dispatch rounds with every lease run out, no worker running
        _expire_leases(db)
        queue += events.due_events(db, queued=len(queue))
        assert len(queue) == waiting
    # Three messages are lost (a worker's host vanished with them): exactly three are re-sent.
    del queue[:3]
    _expire_leases(db)
    resent = events.due_events(db, queued=len(queue))
    assert len(resent) == 3
    queue += resent
    assert len(queue) == waiting
    # The workers drain the queue: every event is delivered once, duplicates are skipped.
    outcomes = [sender.deliver_event(db, settings, event_id).result for event_id in queue]
    assert outcomes.count("delivered") == waiting
    assert len({r.webhook_id for r in receiver.received}) == len(receiver.received) == waiting
    _expire_leases(db)
    assert events.due_events(db, queued=0) == []


def test_a_lost_message_is_resent_once_the_queue_no_longer_holds_it(db, settings, site, receiver):
    [event_id] = _decided_event(db, site, receiver)  # its message never reached the broker
    _expire_leases(db)
    assert events.due_events(db, queued=0) == [event_id]
    with db.session() as s:
        assert s.get(Event, event_id).enqueued_at is not None  # marked again: a message is out
    _expire_leases(db)
    assert events.due_events(db, queued=1) == []  # that message is the one in the queue


def test_a_worker_starting_the_message_clears_the_mark(db, settings, site, receiver):
    [event_id] = _decided_event(db, site, receiver)
    receiver.script.append((503, {}))
    assert sender.deliver_event(db, settings, event_id).result == "retrying"
    with db.session() as s:
        assert s.get(Event, event_id).enqueued_at is None


def test_a_due_retry_is_dispatched_even_behind_a_long_queue(db, settings, site, receiver):
    """A scheduled retry has no message anywhere: a backlog of others must not starve it."""
    [event_id] = _decided_event(db, site, receiver)
    receiver.script.append((503, {}))
    assert sender.deliver_event(db, settings, event_id).result == "retrying"
    _decided_event(db, site, receiver)  # another event, its message queued
    _expire_leases(db)
    assert events.due_events(db, queued=10_000) == [event_id]


def test_callbacks_to_a_site_reuse_one_session_that_keeps_no_cookies(
    db, settings, site, receiver, monkeypatch
):
    monkeypatch.setattr(sender, "_sessions", {})
    first = _decided_event(db, site, receiver)[0]
    receiver.script.append((204, {"Set-Cookie": "track=1; Path=/"}))
    assert sender.deliver_event(db, settings, first).result == "delivered"
    second = _decided_event(db, site, receiver)[0]
    assert sender.deliver_event(db, settings, second).result == "delivered"
    [(site_id, address)] = list(sender._sessions)
    assert site_id == site.site_id and address == "127.0.0.1"
    assert "cookie" not in receiver.received[-1].headers
    assert len(sender.session_for(site.site_id, address).cookies) == 0


def test_an_event_being_sent_is_not_dispatched_again(db, settings, site, receiver, monkeypatch):
    """Its message waited past the dispatch lease; the lease runs again from the worker's start."""
    [event_id] = _decided_event(db, site, receiver)
    _expire_leases(db)
    seen: list[list[str]] = []

    def post_while_the_dispatcher_runs(*args, **kwargs):
        seen.append(events.due_events(db, queued=0))
        return requests.post(*args, **kwargs)

    out = sender.deliver_event(db, settings, event_id, post=post_while_the_dispatcher_runs)
    assert out.result == "delivered" and seen == [[]]


def test_events_not_yet_published_do_not_make_queued_ones_look_lost(db, settings, site, receiver):
    """A batch just committed, its messages still being published, beside an older backlog."""
    backlog = [i for _ in range(6) for i in _decided_event(db, site, receiver)]
    with db.session() as s:
        for event_id in backlog:  # queued two minutes ago, lease run out, no worker yet
            event = s.get(Event, event_id)
            event.enqueued_at = datetime.now(UTC) - timedelta(minutes=2)
            event.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    for _ in range(4):  # committed just now; their messages are not in the broker yet
        _decided_event(db, site, receiver)
    assert events.due_events(db, queued=len(backlog)) == []
    # Once the backlog's messages are gone (lost), all of them are re-sent.
    assert sorted(events.due_events(db, queued=0)) == sorted(backlog)


def test_a_late_failure_from_a_lapsed_claim_leaves_a_delivered_event_alone(
    db, settings, site, receiver
):
    """A worker host back from a partition reports the send it lost: the event stays delivered."""
    [event_id] = _decided_event(db, site, receiver)
    assert sender.deliver_event(db, settings, event_id).result == "delivered"
    with db.session() as s:
        before = s.get(Event, event_id)
        delivered_at, attempts = before.delivered_at, before.attempts
    late = sender._finish(db, settings, event_id, None, "ReadTimeout")
    assert late.result == "skipped"
    with db.session() as s:
        event = s.get(Event, event_id)
        assert (event.status, event.delivered_at, event.attempts) == (
            "delivered",
            delivered_at,
            attempts,
        )
        assert event.next_attempt_at is None
        # The attempt itself happened, so it is in the log.
        assert s.query(DeliveryAttempt).filter_by(event_id=event_id).count() == 2
