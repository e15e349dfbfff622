"""Outbox events: built with the decision in its transaction, listed, replayed, shown."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from civil.db import Database, queue_frontier
from civil.errors import NotFound
from civil.models import Comment, DeliveryAttempt, Event, Site, utcnow
from civil.schema import Delivery, rfc3339
from civil.schema import DeliveryAttempt as AttemptOut

# A new (or replayed) event is leased this long to the pass message published after its commit.
# Past it, a pass is published again only if the site's message is known lost: the delivery
# queue holds fewer messages than there are sites still waiting for theirs (see ``due_sites``).
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
                # The caller wakes the site's delivery pass after this transaction commits.
                enqueued_at=now,
            )
        )
    session.add_all(events)
    return events


WAITING = ("pending", "retrying")


def wake_sites(
    db: Database, site_ids: Iterable[str] = (), event_ids: Iterable[str] = ()
) -> list[str]:
    """Mark the sites of these sites' or events' callbacks for a delivery pass; the ones to publish.

    Called after the events' transaction commits. A site already marked has a pass message in
    the broker that no worker has started: when it starts, that pass takes every waiting event
    of the site committed by then, these too, so no second message is published (the broker
    holds at most one pass message per site). The caller publishes `civil.deliver_site` for
    each site returned, and calls `unmark_sites` for any it could not publish.
    """
    sites, ids = sorted(set(site_ids)), sorted(set(event_ids))
    if not sites and not ids:
        return []
    wanted = [Site.id.in_(sites)] if sites else []
    if ids:
        wanted.append(Site.id.in_(select(Event.site_id).where(Event.id.in_(ids))))
    with db.session() as session:
        marked = session.scalars(
            update(Site)
            .where(or_(*wanted), Site.delivery_queued_at.is_(None))
            .values(delivery_queued_at=utcnow())
            .returning(Site.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(marked)


def unmark_sites(db: Database, site_ids: Iterable[str]) -> None:
    """Forget the marks of pass messages that could not be published (the broker refused)."""
    ids = sorted(set(site_ids))
    if ids:
        with db.session() as session:
            session.execute(
                update(Site)
                .where(Site.id.in_(ids))
                .values(delivery_queued_at=None)
                .execution_options(synchronize_session=False)
            )


def due_sites(db: Database, limit: int = 500, queued: int = 0) -> list[str]:
    """Mark and return the sites that need a delivery pass message (the dispatcher publishes them).

    A site needs one when an event of its is due (a scheduled retry, or an event whose message
    or pass was lost: its lease ran out) and no pass message of its is in the broker. A site
    without a mark has none. A marked site's message may still be queued behind a backlog:
    ``queued`` is how many messages the delivery queue holds now, and the queue is first in,
    first out, so the newest ``queued`` marks are taken to be those messages; only older marks
    past the dispatch lease are known lost and published again. The broker therefore holds at
    most one pass message per site, and never more than there are waiting events.
    """
    now = utcnow()
    due = select(Event.site_id).where(
        Event.status.in_(WAITING),
        Event.next_attempt_at <= now,
        or_(Event.claimed_until.is_(None), Event.claimed_until < now),
    )
    with db.session() as session:
        ids = list(
            session.scalars(
                update(Site)
                .where(
                    Site.id.in_(
                        select(Site.id)
                        .where(Site.id.in_(due), Site.delivery_queued_at.is_(None))
                        .order_by(Site.id)
                        .limit(limit)
                    ),
                    # A publisher may have marked it since: then its message is out.
                    Site.delivery_queued_at.is_(None),
                )
                .values(delivery_queued_at=now)
                .returning(Site.id)
                .execution_options(synchronize_session=False)
            )
        )
        if len(ids) < limit:
            ids += _lost_sites(session, now, max(queued, 0), limit - len(ids), due)
    return sorted(ids)


# A mark this recent may not have its message published yet (the events' transaction has
# committed, the worker is still publishing): it is not taken for one of the messages the queue
# holds, so an older mark is not taken for lost in its place. Past the grace it ranks as usual.
# (While marks keep arriving, up to a grace's worth of lost messages wait for the next lull;
# none is ever re-sent early.)
PUBLISH_GRACE = timedelta(seconds=5)


def _lost_sites(
    session: Session, now: datetime, queued: int, limit: int, due: Select[Any]
) -> list[str]:
    """Marked sites past the lease whose message is not among the ``queued`` in the broker.

    Those with due events are marked again (now) and returned; those with none lose their
    mark, so that the next event of the site is published at once.
    """
    marked = (Site.delivery_queued_at.is_not(None),)
    cutoff = now - DISPATCH_LEASE
    recent = session.scalar(
        select(func.count()).where(*marked, Site.delivery_queued_at > now - PUBLISH_GRACE)
    )
    skip = queued + int(recent or 0)
    if skip:
        # The oldest of the newest ``skip`` marks: messages from it on may still be queued.
        frontier = queue_frontier(session, Site.delivery_queued_at, marked, skip)
        if frontier is None:  # the queue may hold a message for every marked site
            return []
        cutoff = min(cutoff, frontier - timedelta(microseconds=1))
    lost = (*marked, Site.delivery_queued_at <= cutoff)
    ids = list(
        session.scalars(
            update(Site)
            .where(
                Site.id.in_(
                    select(Site.id)
                    .where(*lost, Site.id.in_(due))
                    .order_by(Site.delivery_queued_at)
                    .limit(limit)
                ),
                *lost,  # a worker may have started it since, or a publisher marked it anew
            )
            .values(delivery_queued_at=now)
            .returning(Site.id)
            .execution_options(synchronize_session=False)
        )
    )
    session.execute(
        update(Site)
        .where(*lost, Site.id.not_in(due))
        .values(delivery_queued_at=None)
        .execution_options(synchronize_session=False)
    )
    return ids


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
    event.enqueued_at = now  # the caller wakes the site's pass after the commit
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
