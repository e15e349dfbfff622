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
