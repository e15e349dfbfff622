"""Callback events: built with the decision, signed, delivered, retried, dead-lettered."""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from civil.db import Database
from civil.errors import CallbackRefused, NotFound
from civil.models import Comment, DeliveryAttempt, Event, Site, utcnow
from civil.netguard import check_callback_url
from civil.settings import Settings

DECIDED, MODERATED, REPLY_APPROVED = (
    "comment.decided",
    "comment.moderated",
    "comment.reply_approved",
)
# The task that enqueues a delivery leases the event this long; a lost message is re-sent after.
DISPATCH_LEASE = timedelta(seconds=60)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def new_event_id() -> str:
    return "msg_" + secrets.token_hex(12)


def _parent_author(session: Session, comment: Comment) -> dict[str, Any] | None:
    parent = session.scalar(
        select(Comment).where(
            Comment.site_id == comment.site_id, Comment.external_id == comment.parent_external_id
        )
    )
    if parent is None or parent.author is None:
        return None
    author = parent.author
    return {"id": author.external_id, "name": author.name, "email": author.email}


def build_events(session: Session, comment: Comment, kind: str = DECIDED) -> list[Event]:
    """Events for a decided comment; added to the caller's transaction (outbox pattern)."""
    site = session.get(Site, comment.site_id)
    if site is None or not site.callback_url:
        return []
    now = utcnow()
    data = {
        "site_id": comment.site_id,
        "comment_id": comment.external_id,
        "status": comment.status,
        "decision": comment.decision,
        "article_id": comment.article.external_id if comment.article else None,
        "parent_id": comment.parent_external_id,
        # Edits are decided again; the revision lets a site ignore an older decision that
        # arrives after a newer one.
        "revision": comment.revision,
    }
    kinds = [kind]
    if comment.status == "approved" and comment.parent_external_id:
        kinds.append(REPLY_APPROVED)
    events = []
    for event_type in kinds:
        body = dict(data)
        if event_type == REPLY_APPROVED:
            body["parent_author"] = _parent_author(session, comment)
        payload = {"type": event_type, "timestamp": rfc3339(now), "data": body}
        events.append(
            Event(
                id=new_event_id(),
                site_id=site.id,
                comment_id=comment.id,
                type=event_type,
                payload=payload,
                created_at=now,
                retry_since=now,
                next_attempt_at=now + DISPATCH_LEASE,
            )
        )
    session.add_all(events)
    return events


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
class Outcome:
    event_id: str
    result: str  # delivered | retrying | dead | skipped
    status_code: int | None = None
    error: str | None = None


Poster = Callable[..., requests.Response]


def _claim(session: Session, event_id: str, lease: timedelta) -> bool:
    now = utcnow()
    claimed = session.execute(
        update(Event)
        .where(
            Event.id == event_id,
            Event.status.in_(("pending", "retrying")),
            or_(Event.claimed_until.is_(None), Event.claimed_until < now),
        )
        .values(claimed_until=now + lease)
    )
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def deliver_event(
    db: Database, settings: Settings, event_id: str, post: Poster = requests.post
) -> Outcome:
    """Try one delivery of an event; record the attempt and schedule the next or dead-letter it."""
    lease = timedelta(seconds=settings.delivery_timeout_seconds + 30)
    with db.session() as session:
        if not _claim(session, event_id, lease):
            return Outcome(event_id, "skipped")
    with db.session() as session:
        event = session.get(Event, event_id)
        site = session.get(Site, event.site_id) if event else None
        if event is None or site is None:
            return Outcome(event_id, "skipped")
        url, secret, payload = site.callback_url, site.signing_secret, event.payload
        disabled = site.callback_disabled_at is not None
    if disabled or not url:
        reason = "callback endpoint disabled" if disabled else "site has no callback URL"
        return _finish(db, settings, event_id, None, reason, dead=True)
    try:
        check_callback_url(url, allow_private=settings.allow_private_callbacks)
    except CallbackRefused as exc:
        return _finish(db, settings, event_id, None, exc.message, dead=True)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    headers = sign(secret, event_id, utcnow(), body)
    started = time.monotonic()
    try:
        response = post(
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
    *,
    elapsed: float = 0.0,
    delivered: bool = False,
    dead: bool = False,
    retry_after: float | None = None,
) -> Outcome:
    now = utcnow()
    with db.session() as session:
        event = session.get(Event, event_id)
        if event is None:
            return Outcome(event_id, "skipped")
        session.add(
            DeliveryAttempt(
                event_id=event_id,
                attempted_at=now,
                status_code=code,
                error=error,
                duration_ms=int(elapsed * 1000),
            )
        )
        event.attempts += 1
        event.last_status_code, event.last_error, event.claimed_until = code, error, None
        if delivered:
            event.status, event.delivered_at, event.next_attempt_at = "delivered", now, None
            return Outcome(event_id, "delivered", code)
        delay = max(backoff_seconds(event.attempts, settings), retry_after or 0.0)
        window_end = event.retry_since + timedelta(hours=settings.delivery_retry_hours)
        if dead or now + timedelta(seconds=delay) > window_end:
            event.status, event.dead_at, event.next_attempt_at = "dead", now, None
            return Outcome(event_id, "dead", code, error)
        event.status, event.next_attempt_at = "retrying", now + timedelta(seconds=delay)
        return Outcome(event_id, "retrying", code, error)


def due_events(db: Database, limit: int = 500) -> list[str]:
    """Lease and return events whose next attempt is due (the dispatcher enqueues them)."""
    now = utcnow()
    with db.session() as session:
        ids = list(
            session.scalars(
                select(Event.id)
                .where(Event.status.in_(("pending", "retrying")), Event.next_attempt_at <= now)
                .order_by(Event.next_attempt_at)
                .limit(limit)
            )
        )
        if ids:
            session.execute(
                update(Event).where(Event.id.in_(ids)).values(next_attempt_at=now + DISPATCH_LEASE)
            )
    return ids


def replay_event(session: Session, event_id: str, site_id: str | None = None) -> Event:
    """Queue an event again (dead or delivered), with a fresh retry window and the same id."""
    event = session.get(Event, event_id)
    if event is None or (site_id is not None and event.site_id != site_id):
        raise NotFound("no such delivery", {"event_id": event_id})
    now = utcnow()
    event.status, event.dead_at, event.claimed_until = "pending", None, None
    event.retry_since, event.next_attempt_at = now, now + DISPATCH_LEASE
    return event


def event_view(event: Event, attempts: list[DeliveryAttempt] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": event.id,
        "site_id": event.site_id,
        "type": event.type,
        "status": event.status,
        "attempts": event.attempts,
        "last_status_code": event.last_status_code,
        "last_error": event.last_error,
        "created_at": rfc3339(event.created_at),
        "next_attempt_at": rfc3339(event.next_attempt_at) if event.next_attempt_at else None,
        "delivered_at": rfc3339(event.delivered_at) if event.delivered_at else None,
        "dead_at": rfc3339(event.dead_at) if event.dead_at else None,
        "comment_id": (event.payload.get("data") or {}).get("comment_id"),
    }
    if attempts is not None:
        view["log"] = [
            {
                "at": rfc3339(a.attempted_at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ]
    return view


def list_events(
    session: Session, *, site_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[Event]:
    stmt = select(Event).order_by(Event.created_at.desc()).limit(limit)
    if site_id:
        stmt = stmt.where(Event.site_id == site_id)
    if status:
        stmt = stmt.where(Event.status == status)
    return list(session.scalars(stmt))


def attempts_of(session: Session, event_id: str) -> list[DeliveryAttempt]:
    return list(
        session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.event_id == event_id)
            .order_by(DeliveryAttempt.id)
        )
    )
