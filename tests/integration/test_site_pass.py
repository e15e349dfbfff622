"""A site's delivery pass on SQLite and PostgreSQL, against a real keep-alive receiver."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from civil.db import Database
from civil.delivery import events, sender
from civil.models import DeliveryAttempt, Event, Site
from civil.settings import Settings
from civil.sites import Credentials, create_site
from tests.conftest import migrated
from tests.support.moderation import decided_comment
from tests.support.receiver import Receiver


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: Any, tmp_path: Path) -> Iterator[tuple[Settings, Database]]:
    settings, db = migrated(request, tmp_path / "var")
    yield settings, db
    db.engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def fresh_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test counts its own connections: no kept-alive session from an earlier test.
    monkeypatch.setattr(sender, "_sessions", {})


def new_site(db: Database, receiver: Receiver, url: str | None = None) -> Credentials:
    with db.session() as session:
        creds = create_site(
            session, name="Site", callback_url=url or receiver.url, allow_private=True
        )
    receiver.secret = creds.signing_secret
    return creds


def decide(db: Database, site: Credentials, n: int) -> list[str]:
    """n decided comments' events (oldest first), their site woken as a worker does."""
    for _ in range(n):
        decided_comment(db, site.site_id)
    with db.session() as session:
        ids = list(
            session.scalars(
                select(Event.id)
                .where(Event.site_id == site.site_id, Event.status == "pending")
                .order_by(Event.created_at, Event.id)
            )
        )
    events.wake_sites(db, [site.site_id])
    return ids


def rows(db: Database, ids: list[str]) -> dict[str, Event]:
    with db.session() as session:
        return {e.id: e for e in session.scalars(select(Event).where(Event.id.in_(ids)))}


def test_a_backlog_goes_out_in_one_pass_over_one_connection_oldest_first(backend, receiver):
    settings, db = backend
    settings = replace(settings, delivery_pass_size=7)  # several claims in the one pass
    site = new_site(db, receiver)
    ids = decide(db, site, 30)
    done = sender.deliver_site(db, settings, site.site_id)
    assert [o.result for o in done.outcomes] == ["delivered"] * 30
    assert not done.more and done.stopped is None
    assert [r.webhook_id for r in receiver.received] == ids  # oldest first, each once
    assert all(r.verified for r in receiver.received)
    assert receiver.connections == 1
    settled = rows(db, ids)
    assert {(e.status, e.attempts, e.claimed_until, e.enqueued_at) for e in settled.values()} == {
        ("delivered", 1, None, None)
    }
    with db.session() as session:
        assert session.query(DeliveryAttempt).count() == 30
    # Nothing left: a second pass (a duplicate message) sends nothing.
    assert sender.deliver_site(db, settings, site.site_id).outcomes == []
    assert len(receiver.received) == 30


def test_two_passes_of_one_site_never_send_the_same_event(backend, receiver):
    settings, db = backend
    settings = replace(settings, delivery_pass_size=4)
    site = new_site(db, receiver)
    ids = decide(db, site, 24)
    receiver.delay = 0.02  # both passes are sending at once
    passes: list[sender.SitePass] = []

    def run() -> None:
        passes.append(sender.deliver_site(db, settings, site.site_id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent = Counter(r.webhook_id for r in receiver.received)
    assert set(sent) == set(ids) and set(sent.values()) == {1}
    assert sorted(o.event_id for p in passes for o in p.outcomes) == sorted(ids)
    assert all(e.status == "delivered" for e in rows(db, ids).values())


def test_the_time_budget_ends_a_pass_and_the_rest_wait_for_the_next(backend, receiver):
    settings, db = backend
    settings = replace(settings, delivery_pass_seconds=0.3, delivery_pass_size=50)
    site = new_site(db, receiver)
    ids = decide(db, site, 12)
    receiver.delay = 0.1
    first = sender.deliver_site(db, settings, site.site_id)
    assert first.more and 2 <= len(first.outcomes) <= 5
    sent = [o.event_id for o in first.outcomes]
    assert sent == ids[: len(sent)]
    left = rows(db, ids[len(sent) :])
    # Given back: unclaimed and due now (no claim to wait out), not attempted.
    assert all(e.claimed_until is None and e.attempts == 0 for e in left.values())
    assert all(e.next_attempt_at <= datetime.now(UTC) for e in left.values())
    # The pass started, so the caller's wake publishes the continuation.
    assert events.wake_sites(db, [site.site_id]) == [site.site_id]
    receiver.delay = 0
    second = sender.deliver_site(db, settings, site.site_id)
    assert [o.event_id for o in second.outcomes] == ids[len(sent) :] and not second.more
    assert [r.webhook_id for r in receiver.received] == ids


def test_a_site_answering_503_stops_the_pass_and_its_other_callbacks_back_off(backend, receiver):
    settings, db = backend
    site = new_site(db, receiver)
    ids = decide(db, site, 10)
    receiver.script.append((503, {"Retry-After": "120"}))
    done = sender.deliver_site(db, settings, site.site_id)
    assert done.stopped == "HTTP 503" and [o.result for o in done.outcomes] == ["retrying"]
    assert done.deferred == 9 and len(receiver.received) == 1
    head, *rest = [rows(db, ids)[i] for i in ids]
    assert head.attempts == 1 and head.status == "retrying"
    wait = (head.next_attempt_at - datetime.now(UTC)).total_seconds()
    assert 110 < wait <= 120  # Retry-After honoured
    # The others were not tried; they go when the head is tried again, not before.
    assert {(e.attempts, e.next_attempt_at, e.claimed_until) for e in rest} == {
        (0, head.next_attempt_at, None)
    }
    assert sender.deliver_site(db, settings, site.site_id).outcomes == []
    assert events.due_sites(db) == []
    # Time passes: the site is due again, its head first, and it has recovered.
    with db.session() as session:
        for event in session.scalars(select(Event).where(Event.id.in_(ids))):
            event.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    assert events.due_sites(db) == [site.site_id]
    again = sender.deliver_site(db, settings, site.site_id)
    assert [o.event_id for o in again.outcomes] == ids
    assert {o.result for o in again.outcomes} == {"delivered"}
    assert rows(db, ids)[ids[0]].attempts == 2  # same webhook-id, second attempt


def test_an_unreachable_site_stops_at_the_first_refused_connection(backend, receiver):
    settings, db = backend
    receiver.stop()  # nothing listens on its port any more
    site = new_site(db, receiver)
    ids = decide(db, site, 5)
    done = sender.deliver_site(db, settings, site.site_id)
    assert done.stopped == "ConnectionError" and done.deferred == 4
    [failed] = done.outcomes
    assert failed.event_id == ids[0] and "ConnectionError" in failed.error
    with db.session() as session:
        assert session.query(DeliveryAttempt).count() == 1  # the others were never posted


def test_one_refused_callback_does_not_hold_up_the_rest_but_three_in_a_row_stop(backend, receiver):
    settings, db = backend
    site = new_site(db, receiver)
    ids = decide(db, site, 8)
    receiver.script.extend([(500, {}), (204, {}), (500, {}), (400, {}), (422, {})])
    done = sender.deliver_site(db, settings, site.site_id)
    assert [o.result for o in done.outcomes] == ["retrying", "delivered"] + ["retrying"] * 3
    assert done.stopped == "3 callbacks in a row failed"
    assert len(receiver.received) == 5
    settled = rows(db, ids)
    assert settled[ids[1]].status == "delivered"
    # The three not tried wait for the last failed one's next attempt (and so may the
    # earlier failures that were due sooner).
    assert 3 <= done.deferred <= 6
    last = settled[ids[4]].next_attempt_at
    assert {(settled[i].attempts, settled[i].next_attempt_at) for i in ids[5:]} == {(0, last)}
    # Each failed callback has its own backoff (base 5 s: between 2.5 and 5 s).
    for event_id in (ids[0], ids[2], ids[3], ids[4]):
        wait = (settled[event_id].next_attempt_at - datetime.now(UTC)).total_seconds()
        assert settled[event_id].attempts == 1 and 1 < wait <= 5


def test_a_410_disables_the_endpoint_and_dead_letters_the_rest_unsent(backend, receiver):
    settings, db = backend
    site = new_site(db, receiver)
    ids = decide(db, site, 4)
    receiver.script.append((410, {}))
    done = sender.deliver_site(db, settings, site.site_id)
    assert [o.result for o in done.outcomes] == ["dead"] * 4 and len(receiver.received) == 1
    assert [o.error for o in done.outcomes[1:]] == ["callback endpoint disabled"] * 3
    with db.session() as session:
        assert session.get(Site, site.site_id).callback_disabled_at is not None
    assert {e.status for e in rows(db, ids).values()} == {"dead"}


def test_a_callback_url_now_refused_by_the_guard_dead_letters_without_posting(backend, receiver):
    settings, db = backend
    site = new_site(db, receiver)
    decide(db, site, 3)
    strict = replace(settings, allow_private_callbacks=False)
    done = sender.deliver_site(db, strict, site.site_id)
    assert {o.result for o in done.outcomes} == {"dead"} and len(done.outcomes) == 3
    assert "loopback" in (done.outcomes[0].error or "") and receiver.received == []


def test_a_pass_holding_its_claims_is_never_dispatched_again(backend, receiver):
    """While a pass sends, neither the dispatcher nor a second pass touches what it holds."""
    settings, db = backend
    site = new_site(db, receiver)
    ids = decide(db, site, 3)
    with db.session() as session:  # as if the pass message waited past its lease
        for event in session.scalars(select(Event).where(Event.id.in_(ids))):
            event.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
        session.get(Site, site.site_id).delivery_queued_at = datetime.now(UTC) - timedelta(
            minutes=2
        )
    seen: list[tuple[list[str], int]] = []
    post = sender.pinned_post(["127.0.0.1"], lambda a: sender.session_for(site.site_id, a))

    def post_while_others_run(*args: Any, **kwargs: Any) -> Any:
        other = sender.deliver_site(db, settings, site.site_id, post=post)
        seen.append((events.due_sites(db, queued=0), len(other.outcomes)))
        return post(*args, **kwargs)

    done = sender.deliver_site(db, settings, site.site_id, post=post_while_others_run)
    assert [o.result for o in done.outcomes] == ["delivered"] * 3
    assert seen == [([], 0)] * 3
    assert [r.webhook_id for r in receiver.received] == ids


def test_a_replayed_dead_letter_goes_with_its_sites_next_pass(backend, receiver):
    settings, db = backend
    site = new_site(db, receiver)
    [first] = decide(db, site, 1)
    receiver.script.append((500, {}))
    no_window = replace(settings, delivery_retry_hours=0)
    assert [o.result for o in sender.deliver_site(db, no_window, site.site_id).outcomes] == ["dead"]
    with db.session() as session:
        events.replay_event(session, first, site.site_id)
    assert events.wake_sites(db, event_ids=[first]) == [site.site_id]
    done = sender.deliver_site(db, settings, site.site_id)
    assert [(o.event_id, o.result) for o in done.outcomes] == [(first, "delivered")]
    assert [r.webhook_id for r in receiver.received] == [first, first]  # the same webhook-id


def test_the_legacy_single_event_message_still_delivers(backend, receiver):
    """A `civil.deliver_event` message queued before the upgrade; the pass then skips it."""
    settings, db = backend
    site = new_site(db, receiver)
    [event_id] = decide(db, site, 1)
    assert sender.deliver_event(db, settings, event_id).result == "delivered"
    assert sender.deliver_site(db, settings, site.site_id).outcomes == []
    assert [r.webhook_id for r in receiver.received] == [event_id]


def test_a_pass_costs_one_claim_and_one_record_per_delivered_callback(backend, receiver):
    """Statements a pass runs: a claim per chunk, then one UPDATE and one INSERT a callback."""
    from sqlalchemy import event as sa_event

    settings, db = backend
    site = new_site(db, receiver)
    decide(db, site, 20)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    sa_event.listen(db.engine, "before_cursor_execute", count)
    started = time.monotonic()
    try:
        done = sender.deliver_site(db, settings, site.site_id)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert len(done.outcomes) == 20 and time.monotonic() - started < 30
    kinds = Counter(statements)
    # The mark cleared, two claims (`WITH picked … UPDATE`; the second finds nothing), the
    # site read, then one UPDATE and one INSERT per callback.
    assert kinds["WITH"] == 2
    assert kinds["UPDATE"] == 20 + 1
    assert kinds["INSERT"] == 20
    assert kinds["SELECT"] == 1


def test_a_backlog_asks_for_a_second_pass_once_the_site_answers(backend, receiver):
    settings, db = backend
    settings = replace(settings, delivery_pass_size=5)
    site = new_site(db, receiver)
    decide(db, site, 12)
    asked: list[int] = []
    done = sender.deliver_site(
        db, settings, site.site_id, backlog=lambda: asked.append(len(receiver.received))
    )
    assert len(done.outcomes) == 12 and asked == [1]  # once, after the first delivered one
    # A failing site never fans out: the pass stops before anything was delivered.
    decide(db, site, 12)
    receiver.script.append((503, {}))
    done = sender.deliver_site(db, settings, site.site_id, backlog=lambda: asked.append(-1))
    assert done.stopped == "HTTP 503" and asked == [1]
    # Fewer due than one claim takes: no second pass either.
    other = new_site(db, receiver)
    decide(db, other, 3)
    sender.deliver_site(db, settings, other.site_id, backlog=lambda: asked.append(-2))
    assert asked == [1]
