"""Outbox events: built with the decision in its transaction, listed, replayed, shown."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from civil.db import Database, queue_frontier
from civil.errors import NotFound
from civil.models import Comment, DeliveryAttempt, Event, Site, utcnow
from civil.schema import Delivery, rfc3339
from civil.schema import DeliveryAttempt as AttemptOut

# The task that enqueues a delivery leases the event this long. Past it, the event's message is
# re-sent only if it is known lost: the delivery queue holds fewer messages than there are
# events still waiting for theirs (see ``due_events``).
DISPATCH_LEASE = timedelta(seconds=60)

DECIDED, MODERATED, REPLY_APPROVED, APPEAL_DECIDED = (
    "comment.decided",
    "comment.moderated",
    "comment.reply_approved",
    "comment.appeal_decided",
)


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


def build_events(
    session: Session,
    comment: Comment,
    kind: str = DECIDED,
    extra: dict[str, Any] | None = None,
) -> list[Event]:
    """Events for a decided comment; added to the caller's transaction (outbox pattern).

    ``extra`` adds keys to ``data`` (an appeal's answer, for ``comment.appeal_decided``).
    """
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
        **(extra or {}),
    }
    kinds = [kind]
    if comment.status == "approved" and comment.parent_external_id and kind != APPEAL_DECIDED:
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
                # The caller publishes the delivery message after this transaction commits.
                enqueued_at=now,
            )
        )
    session.add_all(events)
    return events


WAITING = ("pending", "retrying")


def due_events(db: Database, limit: int = 500, queued: int = 0) -> list[str]:
    """Lease and return events that need a delivery message (the dispatcher publishes them).

    An event needs one when its next attempt is due and no message of its is in the broker.
    Events with no message (a retry scheduled by the sender) are due at ``next_attempt_at``.
    Events marked enqueued that no worker has started yet may still have their message in the
    queue: ``queued`` is how many messages the delivery queue holds now, and the queue is
    first in, first out, so the newest ``queued`` marked events are taken to be those messages;
    only older marked events past their lease are known lost and re-sent. A backlog therefore
    never multiplies: the broker holds at most one message per waiting event.
    """
    now = utcnow()
    with db.session() as session:
        waiting = (Event.status.in_(WAITING), Event.next_attempt_at <= now)
        ids = list(
            session.scalars(
                select(Event.id)
                .where(*waiting, Event.enqueued_at.is_(None))
                .order_by(Event.next_attempt_at)
                .limit(limit)
            )
        )
        if len(ids) < limit:
            ids += _lost(session, now, max(queued, 0), limit - len(ids))
        if ids:
            session.execute(
                update(Event)
                .where(Event.id.in_(ids))
                .values(next_attempt_at=now + DISPATCH_LEASE, enqueued_at=now)
            )
    return ids


# An event marked this recently, its lease still running, may not have its message published
# yet (the decision's transaction has committed, the worker is still publishing its batch): it
# is not taken for one of the messages the queue holds, so an older event is not taken for lost
# in its place. Past the grace it ranks as usual. (While marks keep arriving, up to a grace's
# worth of lost messages wait for the next lull; none is ever re-sent early.)
PUBLISH_GRACE = timedelta(seconds=5)


def _lost(session: Session, now: datetime, queued: int, limit: int) -> list[str]:
    """Marked events past their lease whose message is not among the ``queued`` in the broker."""
    marked = (Event.status.in_(WAITING), Event.enqueued_at.is_not(None))
    stmt = select(Event.id).where(*marked, Event.next_attempt_at <= now)
    recent = session.scalar(
        select(func.count()).where(
            *marked, Event.enqueued_at > now - PUBLISH_GRACE, Event.next_attempt_at > now
        )
    )
    skip = queued + int(recent or 0)
    if skip:
        # The oldest of the newest ``skip`` marks: messages from it on may still be queued.
        frontier = queue_frontier(session, Event.enqueued_at, marked, skip)
        if frontier is None:  # the queue may hold a message for every marked event
            return []
        stmt = stmt.where(Event.enqueued_at < frontier)
    return list(session.scalars(stmt.order_by(Event.enqueued_at).limit(limit)))


def waiting_events(session: Session) -> int:
    """Events not yet delivered nor dead-lettered."""
    return int(session.scalar(select(func.count()).where(Event.status.in_(WAITING))) or 0)


def replay_event(session: Session, event_id: str, site_id: str | None = None) -> Event:
    """Queue an event again (dead or delivered), with a fresh retry window and the same id."""
    event = session.get(Event, event_id)
    if event is None or (site_id is not None and event.site_id != site_id):
        raise NotFound("no such delivery", {"event_id": event_id})
    now = utcnow()
    event.status, event.dead_at, event.claimed_until = "pending", None, None
    event.retry_since, event.next_attempt_at = now, now + DISPATCH_LEASE
    event.enqueued_at = now  # the caller publishes the message after the commit
    return event


def event_view(event: Event, attempts: list[DeliveryAttempt] | None = None) -> dict[str, Any]:
    """The JSON of one delivery; with ``attempts``, its log too."""
    fields: dict[str, Any] = {}
    if attempts is not None:
        fields["log"] = [
            AttemptOut(
                at=a.attempted_at,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ]
    return Delivery(
        id=event.id,
        site_id=event.site_id,
        type=event.type,
        status=event.status,  # type: ignore[arg-type]
        attempts=event.attempts,
        last_status_code=event.last_status_code,
        last_error=event.last_error,
        created_at=event.created_at,
        next_attempt_at=event.next_attempt_at,
        delivered_at=event.delivered_at,
        dead_at=event.dead_at,
        comment_id=(event.payload.get("data") or {}).get("comment_id"),
        **fields,
    ).wire()


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
