"""Sending an event: sign it (Standard Webhooks), post it, retry with backoff, dead-letter."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from civil.db import Database
from civil.delivery.events import WAITING
from civil.delivery.netguard import check_callback_url, pinned_post, pinned_session
from civil.errors import CallbackRefused
from civil.models import DeliveryAttempt, Event, Site, utcnow
from civil.settings import Settings

log = logging.getLogger("civil.delivery")

# Once a callback was posted its outcome must be recorded: if a database blip lost the record,
# the retry would post it again to a site that already accepted it. So the record is retried
# this long (the claim on the event lasts the HTTP timeout plus 30 s, so no one else sends it).
RECORD_RETRY_SECONDS = 25.0

# How a delivery posts (a post pinned to the checked address, or a test's stand-in).
Poster = Callable[..., requests.Response]


def sign(secret: str, event_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """Standard Webhooks headers for one delivery."""
    signature = Webhook(secret).sign(event_id, timestamp, body)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "Civil-Webhooks/1",
    }


def backoff_seconds(attempt: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Exponential backoff with equal jitter: between half and all of base * 2^(attempt-1)."""
    ceiling = min(
        settings.delivery_backoff_max_seconds,
        settings.delivery_backoff_base_seconds * 2 ** max(attempt - 1, 0),
    )
    return (rng or random).uniform(ceiling / 2, ceiling)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Parse Retry-After (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - now).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class SendResult:
    event_id: str
    result: str  # delivered | retrying | dead | skipped
    status_code: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None  # when retrying


def _claim(session: Session, event_id: str, lease: timedelta) -> bool:
    now = utcnow()
    claimed = session.execute(
        update(Event)
        .where(
            Event.id == event_id,
            Event.status.in_(("pending", "retrying")),
            or_(Event.claimed_until.is_(None), Event.claimed_until < now),
        )
        # A worker has started the event's message: it is no longer in the broker, and the
        # dispatch lease now runs from this start (a worker that dies mid-send is re-sent
        # once it is over), never from when the message was queued.
        .values(claimed_until=now + lease, enqueued_at=None, next_attempt_at=now + lease)
    )
    return claimed.rowcount == 1  # type: ignore[attr-defined]


_sessions: dict[tuple[str, str], requests.Session] = {}


def session_for(site_id: str, address: str) -> requests.Session:
    """This process's kept-alive HTTP session for a site's callbacks to one checked address.

    A backlog of callbacks to one site then reuses its connection instead of opening one per
    callback; the session connects only to ``address`` (pinned: no second DNS lookup). One per
    site and address, and cookies refused: nothing a site's endpoint sets is ever sent back,
    to it or to another site.
    """
    session = _sessions.get((site_id, address))
    if session is None:
        session = pinned_session(address)
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        _sessions[(site_id, address)] = session
    return session


def deliver_event(
    db: Database, settings: Settings, event_id: str, post: Poster | None = None
) -> SendResult:
    """Try one delivery of an event; record the attempt and schedule the next or dead-letter it.

    ``post`` defaults to the site's kept-alive, address-pinned session (``session_for``).
    """
    lease = timedelta(seconds=settings.delivery_timeout_seconds + 30)
    with db.session() as session:
        if not _claim(session, event_id, lease):
            return SendResult(event_id, "skipped")
    with db.session() as session:
        event = session.get(Event, event_id)
        site = session.get(Site, event.site_id) if event else None
        if event is None or site is None:
            return SendResult(event_id, "skipped")
        url, secret, payload = site.callback_url, site.signing_secret, event.payload
        disabled = site.callback_disabled_at is not None
    if disabled or not url:
        reason = "callback endpoint disabled" if disabled else "site has no callback URL"
        return _finish(db, settings, event_id, None, reason, dead=True)
    # The URL is checked and the post pinned to the address just checked (resolving the name
    # again could give another), over the site's kept-alive session, as a site pass does.
    target = _connect(settings, site.id, (url, secret), post)
    if isinstance(target, str):
        return _finish(db, settings, event_id, None, target, dead=True)
    outcome, _ = _send(db, settings, site.id, target, _Claimed(event_id, payload))
    return outcome


def _disable_endpoint(db: Database, site_id: str, reason: str) -> None:
    with db.session() as session:
        site = session.get(Site, site_id)
        if site is not None and site.callback_disabled_at is None:
            site.callback_disabled_at, site.callback_disabled_reason = utcnow(), reason


def _finish(
    db: Database,
    settings: Settings,
    event_id: str,
    code: int | None,
    error: str | None,
    **outcome: Any,
) -> SendResult:
    """Record an attempt's outcome, retrying while the database is unreachable (see above)."""
    deadline, pause = time.monotonic() + RECORD_RETRY_SECONDS, 0.5
    while True:
        try:
            return _record(db, settings, event_id, code, error, **outcome)
        except OperationalError:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("database unreachable recording delivery %s; retrying", event_id)
            time.sleep(pause)
            pause = min(pause * 2, 4.0)


def _record(
    db: Database,
    settings: Settings,
    event_id: str,
    code: int | None,
    error: str | None,
    *,
    elapsed: float = 0.0,
    delivered: bool = False,
    dead: bool = False,
    retry_after: float | None = None,
) -> SendResult:
    now = utcnow()
    attempt = {
        "event_id": event_id,
        "attempted_at": now,
        "status_code": code,
        "error": error,
        "duration_ms": int(elapsed * 1000),
    }
    with db.session() as session:
        if delivered and _record_delivered(session, event_id, code, now):
            session.execute(insert(DeliveryAttempt).values(**attempt))
            return SendResult(event_id, "delivered", code)
        event = session.get(Event, event_id)
        if event is None:
            return SendResult(event_id, "skipped")
        late = event.status in ("delivered", "dead")
        session.add(DeliveryAttempt(**attempt))
        if late:
            # The outcome of a send whose claim had lapsed (a worker host back from a network
            # partition): another worker has settled the event since. The attempt is logged; the
            # event stays as it is, or a late failure would schedule a delivered event again.
            log.warning("late delivery outcome for a settled event %s kept out", event_id)
            return SendResult(event_id, "skipped")
        event.attempts += 1
        event.last_status_code, event.last_error, event.claimed_until = code, error, None
        if delivered:
            event.status, event.delivered_at, event.next_attempt_at = "delivered", now, None
            return SendResult(event_id, "delivered", code)
        delay = max(backoff_seconds(event.attempts, settings), retry_after or 0.0)
        window_end = event.retry_since + timedelta(hours=settings.delivery_retry_hours)
        if dead or now + timedelta(seconds=delay) > window_end:
            event.status, event.dead_at, event.next_attempt_at = "dead", now, None
            return SendResult(event_id, "dead", code, error)
        event.status, event.next_attempt_at = "retrying", now + timedelta(seconds=delay)
        return SendResult(event_id, "retrying", code, error, event.next_attempt_at)


def _record_delivered(session: Session, event_id: str, code: int | None, now: datetime) -> bool:
    """The common outcome in one statement (no read first); False: settled or gone meanwhile."""
    done = session.execute(
        update(Event)
        .where(Event.id == event_id, Event.status.in_(WAITING))
        .values(
            status="delivered",
            delivered_at=now,
            next_attempt_at=None,
            claimed_until=None,
            attempts=Event.attempts + 1,
            last_status_code=code,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


# --- A site's delivery pass ------------------------------------------------------------------
#
# One worker task sends a site's due callbacks over the site's kept-alive session: it claims
# them a bounded number at a time, oldest first, with the same conditional UPDATE as a single
# delivery (an event claimed by one pass is skipped by every other), records each outcome as
# soon as its post returns, and stops starting new posts once its time budget is spent (the
# caller then queues the rest behind the other sites' passes). A site that is failing ends
# the pass at once, and its other due callbacks back off with the failed one (`_back_off_site`).

# Answers that speak for the whole endpoint (rate-limited, a gateway with nothing behind it):
# the pass stops at the first; no answer at all (refused, reset, timed out) is the same.
SITE_BUSY = frozenset({429, 502, 503, 504})
# Other failures may be one event's (a receiver that refuses one payload): the pass goes on,
# and stops only after this many in a row.
FAILURES_IN_A_ROW = 3
GONE = "410 Gone"


@dataclass(frozen=True)
class SitePass:
    site_id: str
    outcomes: list[SendResult]
    # Events were left due (the time budget ran out): the caller wakes the site again.
    more: bool = False
    # Why the pass stopped early on a failing site; its other due events were backed off.
    stopped: str | None = None
    deferred: int = 0


@dataclass(frozen=True)
class _Claimed:
    event_id: str
    payload: dict[str, Any]


def _claim_site(
    session: Session, site_id: str, lease: timedelta, limit: int, starting: bool
) -> list[_Claimed]:
    """Claim up to ``limit`` of a site's waiting events, oldest first (one UPDATE)."""
    now = utcnow()
    if starting:
        # The site's pass message is no longer in the broker: a commit from now on wakes a
        # new one (see civil.delivery.events.wake_sites). Written first, so on PostgreSQL a
        # concurrent wake waits for this transaction and then sees the mark gone.
        session.execute(
            update(Site)
            .where(Site.id == site_id, Site.delivery_queued_at.is_not(None))
            .values(delivery_queued_at=None)
            .execution_options(synchronize_session=False)
        )
    eligible = (
        Event.site_id == site_id,
        Event.status.in_(WAITING),
        or_(Event.claimed_until.is_(None), Event.claimed_until < now),
        # Due (a retry, a released or lapsed claim) or waiting for this very message.
        or_(Event.next_attempt_at <= now, Event.enqueued_at.is_not(None)),
    )
    # SKIP LOCKED (PostgreSQL; nothing on SQLite, whose writers take turns): a second pass
    # of the same site takes the next events instead of waiting for this one's. A CTE, so
    # PostgreSQL picks the rows once: as a plain `IN (subquery)` it may run the subquery again
    # per row and take more than ``limit``.
    picked = (
        select(Event.id)
        .where(*eligible)
        .order_by(Event.created_at, Event.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("picked")
    )
    rows = sorted(
        session.execute(
            update(Event)
            .add_cte(picked)
            .where(Event.id.in_(select(picked.c.id)), *eligible)
            .values(claimed_until=now + lease, enqueued_at=None, next_attempt_at=now + lease)
            .returning(Event.id, Event.payload, Event.created_at)
            .execution_options(synchronize_session=False)
        ).all(),
        key=lambda row: (row.created_at, row.id),
    )
    return [_Claimed(row.id, row.payload) for row in rows]


def _release(db: Database, event_ids: list[str]) -> None:
    """Give back claimed events this pass will not send: due now, for the next pass."""
    if event_ids:
        with db.session() as session:
            session.execute(
                update(Event)
                .where(Event.id.in_(event_ids), Event.status.in_(WAITING))
                .values(claimed_until=None, next_attempt_at=utcnow())
                .execution_options(synchronize_session=False)
            )


def _back_off_site(db: Database, site_id: str, mine: list[str], until: datetime) -> int:
    """A failing site: its due events (and this pass's unsent ones) wait until ``until``.

    ``until`` is when the event that failed is tried again, so the site is probed by one
    callback per backoff step (its oldest), and the others follow once it answers. Events
    with a later attempt of their own keep it; events another pass holds are left alone.
    """
    now = utcnow()
    free = or_(Event.claimed_until.is_(None), Event.claimed_until < now)
    sooner = or_(Event.next_attempt_at.is_(None), Event.next_attempt_at < until)
    try:
        with db.session() as session:
            done = session.execute(
                update(Event)
                .where(
                    Event.site_id == site_id,
                    Event.status.in_(WAITING),
                    or_(Event.id.in_(mine), free & sooner) if mine else free & sooner,
                )
                .values(next_attempt_at=until, enqueued_at=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
            return int(done.rowcount)  # type: ignore[attr-defined]
    except OperationalError as exc:
        # Nothing is lost: this pass's claims lapse and the dispatcher sends them later.
        log.warning("could not back off site %s: %s", site_id, exc)
        return 0


def _site_target(session: Session, site_id: str) -> tuple[str, str] | str:
    """(url, secret) of the site's callbacks, or why its events are dead-lettered unsent."""
    site = session.get(Site, site_id)
    if site is None:
        return "site deleted"
    if site.callback_disabled_at is not None:
        return "callback endpoint disabled"
    if not site.callback_url:
        return "site has no callback URL"
    return site.callback_url, site.signing_secret


def deliver_site(
    db: Database,
    settings: Settings,
    site_id: str,
    post: Poster | None = None,
    backlog: Callable[[], None] | None = None,
) -> SitePass:
    """One delivery pass over a site's due callbacks (see above); what it did.

    ``post`` defaults to the site's kept-alive, address-pinned session (``session_for``); the
    callback URL is checked (netguard) once per pass, and the pass connects to what it found.
    ``backlog`` is called once if the site has more due than one claim takes and its endpoint
    answers: the caller wakes a second pass, so an idle worker process takes the next claim
    beside this one (never for a failing site: only after a callback was delivered).
    """
    started = time.monotonic()
    budget = settings.delivery_pass_seconds
    # Past the budget no post starts; one that started just before it may take the timeout
    # and its record the rest (RECORD_RETRY_SECONDS): the claim outlasts both.
    lease = timedelta(seconds=budget + settings.delivery_timeout_seconds + 30)
    outcomes: list[SendResult] = []
    target: tuple[str, str, Poster] | str | None = None
    in_a_row = 0
    while True:
        if outcomes and time.monotonic() - started >= budget:
            return SitePass(site_id, outcomes, more=True)
        with db.session() as session:
            claimed = _claim_site(
                session, site_id, lease, settings.delivery_pass_size, starting=target is None
            )
            if claimed and target is None:
                found = _site_target(session, site_id)
        if not claimed:
            return SitePass(site_id, outcomes)
        full = len(claimed) == settings.delivery_pass_size
        if target is None:
            target = _connect(settings, site_id, found, post)
        for n, item in enumerate(claimed):
            if outcomes and time.monotonic() - started >= budget:  # (the first always goes)
                _release(db, [c.event_id for c in claimed[n:]])
                return SitePass(site_id, outcomes, more=True)
            if isinstance(target, str):  # disabled, no URL, refused by the guard: nothing sent
                outcomes.append(_finish(db, settings, item.event_id, None, target, dead=True))
                continue
            outcome, failing = _send(db, settings, site_id, target, item)
            outcomes.append(outcome)
            if backlog is not None and outcome.result == "delivered" and full:
                backlog()
                backlog = None
            if failing == GONE:  # the endpoint is disabled now: the rest are dead-lettered
                target = "callback endpoint disabled"
                continue
            in_a_row = in_a_row + 1 if outcome.result in ("retrying", "dead") else 0
            if failing or in_a_row >= FAILURES_IN_A_ROW:
                reason = failing or f"{in_a_row} callbacks in a row failed"
                until = outcome.next_attempt_at or utcnow() + timedelta(
                    seconds=backoff_seconds(1, settings)
                )
                rest = [c.event_id for c in claimed[n + 1 :]]
                deferred = _back_off_site(db, site_id, rest, until)
                return SitePass(site_id, outcomes, stopped=reason, deferred=deferred)


def _connect(
    settings: Settings, site_id: str, found: tuple[str, str] | str, post: Poster | None
) -> tuple[str, str, Poster] | str:
    if isinstance(found, str):
        return found
    url, secret = found
    try:
        addresses = check_callback_url(url, allow_private=settings.allow_private_callbacks)
    except CallbackRefused as exc:
        return exc.message
    send = post or pinned_post(addresses, lambda address: session_for(site_id, address))
    return url, secret, send


def _send(
    db: Database,
    settings: Settings,
    site_id: str,
    target: tuple[str, str, Poster],
    item: _Claimed,
) -> tuple[SendResult, str | None]:
    """Post one claimed event and record the outcome; with why the site looks failing, if so."""
    url, secret, send = target
    body = json.dumps(item.payload, separators=(",", ":"), sort_keys=True)
    headers = sign(secret, item.event_id, utcnow(), body)
    started = time.monotonic()
    try:
        response = send(
            url,
            data=body.encode(),
            headers=headers,
            timeout=settings.delivery_timeout_seconds,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        elapsed = time.monotonic() - started
        return _finish(db, settings, item.event_id, None, error, elapsed=elapsed), type(
            exc
        ).__name__
    elapsed = time.monotonic() - started
    code = response.status_code
    if 200 <= code < 300:
        return _finish(
            db, settings, item.event_id, code, None, elapsed=elapsed, delivered=True
        ), None
    if code == 410:
        _disable_endpoint(db, site_id, "endpoint answered 410 Gone")
        done = _finish(
            db,
            settings,
            item.event_id,
            code,
            "410 Gone: endpoint disabled",
            dead=True,
            elapsed=elapsed,
        )
        return done, GONE
    retry_after = retry_after_seconds(response.headers.get("Retry-After"), utcnow())
    done = _finish(
        db, settings, item.event_id, code, f"HTTP {code}", elapsed=elapsed, retry_after=retry_after
    )
    return done, f"HTTP {code}" if code in SITE_BUSY else None
