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


def _site(db, like, name="Another"):
    """Another site with the secret of ``like`` (one receiver verifies both sites' callbacks)."""
    from dataclasses import replace

    from civil.sites import create_site

    with db.session() as s:
        creds = create_site(s, name=name, callback_url=None, allow_private=True)
        s.get(Site, creds.site_id).signing_secret = like.signing_secret
    return replace(creds, signing_secret=like.signing_secret)


def _woken(db, site, receiver, n=1):
    """n decided events for the site, and the pass messages their commit publishes."""
    ids = [i for _ in range(n) for i in _decided_event(db, site, receiver)]
    return ids, events.wake_sites(db, event_ids=ids)


def test_due_sites_leases_so_a_second_dispatch_does_not_resend(db, site, receiver):
    [event_id] = _decided_event(db, site, receiver)  # its site was never woken
    with db.session() as s:
        s.get(Event, event_id).next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    assert events.due_sites(db) == [site.site_id]
    assert events.due_sites(db) == []


def test_a_sites_events_wake_one_pass_message_until_a_worker_starts_it(
    db, settings, site, receiver
):
    _, published = _woken(db, site, receiver, 3)
    assert published == [site.site_id]
    assert _woken(db, site, receiver, 2)[1] == []  # the queued pass takes these too
    out = sender.deliver_site(db, settings, site.site_id)
    assert [o.result for o in out.outcomes] == ["delivered"] * 5 and not out.more
    # Started: the next commit wakes a new pass.
    assert _woken(db, site, receiver)[1] == [site.site_id]


def _expire_leases(db):
    """Move every waiting event's lease and every mark into the past (as time passes)."""
    with db.session() as s:
        for event in s.query(Event).filter(Event.status.in_(("pending", "retrying"))):
            if event.next_attempt_at is not None:
                event.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
            if event.enqueued_at is not None:  # time passes for every mark alike
                event.enqueued_at -= timedelta(minutes=2)
        for row in s.query(Site).filter(Site.delivery_queued_at.is_not(None)):
            row.delivery_queued_at -= timedelta(minutes=2)


def test_a_backlog_never_holds_more_than_one_message_per_site(db, settings, site, receiver):
    """A FIFO queue of pass messages, a dispatcher running while no worker reaches them."""
    sites = [site, _site(db, site, "B"), _site(db, site, "C")]
    queue: list[str] = []
    waiting = 0
    for _ in range(4):  # four decision batches, each with an event for every site
        for creds in sites:
            ids, published = _woken(db, creds, receiver)
            queue += published
            waiting += len(ids)
    assert sorted(queue) == sorted(c.site_id for c in sites)  # one message per site
    for _ in range(5):  # five dispatch rounds with every lease run out, no worker running
        _expire_leases(db)
        queue += events.due_sites(db, queued=len(queue))
        assert len(queue) == len(sites)
    # The oldest message is lost (a worker's host vanished with it): exactly its site's again.
    lost = queue.pop(0)
    _expire_leases(db)
    assert events.due_sites(db, queued=len(queue)) == [lost]
    queue.append(lost)
    # The workers drain the queue: each site's pass sends all of its events, once each.
    outcomes = [
        o.result for s_id in queue for o in sender.deliver_site(db, settings, s_id).outcomes
    ]
    assert outcomes.count("delivered") == waiting == 12
    assert len({r.webhook_id for r in receiver.received}) == len(receiver.received) == waiting
    _expire_leases(db)
    assert events.due_sites(db, queued=0) == []


def test_a_lost_message_is_resent_once_the_queue_no_longer_holds_it(db, settings, site, receiver):
    _, published = _woken(db, site, receiver)  # its message never reached the broker
    assert published == [site.site_id]
    _expire_leases(db)
    assert events.due_sites(db, queued=0) == [site.site_id]
    with db.session() as s:
        assert s.get(Site, site.site_id).delivery_queued_at is not None  # a message is out
    _expire_leases(db)
    assert events.due_sites(db, queued=1) == []  # that message is the one in the queue


def test_a_lost_mark_without_due_events_is_dropped_so_the_next_event_wakes_at_once(
    db, settings, site, receiver
):
    [event_id], _ = _woken(db, site, receiver)
    assert sender.deliver_event(db, settings, event_id).result == "delivered"  # another way
    _expire_leases(db)  # the site's pass message was lost meanwhile
    assert events.due_sites(db, queued=0) == []
    assert _woken(db, site, receiver)[1] == [site.site_id]


def test_a_pass_starting_clears_the_marks(db, settings, site, receiver):
    [event_id], _ = _woken(db, site, receiver)
    receiver.script.append((503, {}))
    out = sender.deliver_site(db, settings, site.site_id)
    assert [o.result for o in out.outcomes] == ["retrying"]
    with db.session() as s:
        assert s.get(Event, event_id).enqueued_at is None
        assert s.get(Site, site.site_id).delivery_queued_at is None


def test_a_due_retry_is_dispatched_even_behind_a_long_queue(db, settings, site, receiver):
    """A scheduled retry has no message anywhere: a backlog of others must not starve it."""
    _woken(db, site, receiver)
    receiver.script.append((503, {}))
    assert sender.deliver_site(db, settings, site.site_id).stopped == "HTTP 503"
    _woken(db, _site(db, site), receiver)  # another site, its message queued
    _expire_leases(db)
    assert events.due_sites(db, queued=10_000) == [site.site_id]


def test_an_event_being_sent_is_not_dispatched_again(db, settings, site, receiver):
    """Its pass message waited past the dispatch lease; the claim runs from the pass's start."""
    _woken(db, site, receiver)
    _expire_leases(db)
    seen: list[list[str]] = []

    def post_while_the_dispatcher_runs(*args, **kwargs):
        seen.append(events.due_sites(db, queued=0))
        return requests.post(*args, **kwargs)

    out = sender.deliver_site(db, settings, site.site_id, post=post_while_the_dispatcher_runs)
    assert [o.result for o in out.outcomes] == ["delivered"] and seen == [[]]


def test_marks_not_yet_published_do_not_make_queued_ones_look_lost(db, settings, site, receiver):
    """Sites just woken, their messages still being published, beside an older backlog."""
    backlog = [site] + [_site(db, site, f"old-{n}") for n in range(5)]
    for creds in backlog:
        _woken(db, creds, receiver)
    _expire_leases(db)  # queued two minutes ago, lease run out, no worker yet
    for n in range(4):  # woken just now; their messages are not in the broker yet
        _woken(db, _site(db, site, f"new-{n}"), receiver)
    assert events.due_sites(db, queued=len(backlog)) == []
    # Once the backlog's messages are gone (lost), all of those sites are woken again.
    assert events.due_sites(db, queued=0) == sorted(c.site_id for c in backlog)


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
