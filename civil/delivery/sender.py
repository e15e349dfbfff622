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
from sqlalchemy import or_, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from civil.db import Database
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
    try:
        addresses = check_callback_url(url, allow_private=settings.allow_private_callbacks)
    except CallbackRefused as exc:
        return _finish(db, settings, event_id, None, exc.message, dead=True)
    # Connect to the address just checked (resolving the name again could give another),
    # over the site's kept-alive session for that address.
    site_id = event.site_id
    send = post or pinned_post(addresses, lambda address: session_for(site_id, address))
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    headers = sign(secret, event_id, utcnow(), body)
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
        return _finish(
            db,
            settings,
            event_id,
            None,
            f"{type(exc).__name__}: {exc}"[:500],
            elapsed=time.monotonic() - started,
        )
    elapsed = time.monotonic() - started
    code = response.status_code
    if 200 <= code < 300:
        return _finish(db, settings, event_id, code, None, elapsed=elapsed, delivered=True)
    if code == 410:
        _disable_endpoint(db, event.site_id, "endpoint answered 410 Gone")
        return _finish(
            db, settings, event_id, code, "410 Gone: endpoint disabled", dead=True, elapsed=elapsed
        )
    retry_after = retry_after_seconds(response.headers.get("Retry-After"), utcnow())
    return _finish(
        db, settings, event_id, code, f"HTTP {code}", elapsed=elapsed, retry_after=retry_after
    )


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
    with db.session() as session:
        event = session.get(Event, event_id)
        if event is None:
            return SendResult(event_id, "skipped")
        late = event.status in ("delivered", "dead")
        session.add(
            DeliveryAttempt(
                event_id=event_id,
                attempted_at=now,
                status_code=code,
                error=error,
                duration_ms=int(elapsed * 1000),
            )
        )
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
        return SendResult(event_id, "retrying", code, error)
