"""Erasing an author (GDPR art. 17): everything of theirs is deleted or anonymised.

One transaction removes the author's comments, the outbox events and delivery attempts of
those comments, their feedback snapshots, near-duplicate fingerprints, reputation rows keyed
by their e-mail or IP, reports on their comments and by them, appeals, claims and standing;
rewrites ``parent_author`` out of other comments' callbacks; and clears the free-text note of
audit entries about them (the one update the audit log's trigger allows). The audit log keeps
who did what and when, by ids. Redis velocity counters named by their id or IP go after the
commit. The erasure row keeps counts, never who was erased.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import Delete, Update, delete, or_, select, update
from sqlalchemy.orm import Session

from civil import schema
from civil.db import Database
from civil.delivery.events import REPLY_APPROVED
from civil.errors import NotFound
from civil.models import (
    Appeal,
    AuditEntry,
    Author,
    AuthorStanding,
    Comment,
    DeliveryAttempt,
    Erasure,
    Event,
    Feedback,
    Report,
    ReviewClaim,
    SpamBand,
    SpamFingerprint,
    SpamReputation,
    utcnow,
)
from civil.spam import velocity

log = logging.getLogger(__name__)


def _run(session: Session, stmt: Delete | Update) -> int:
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def _strip_parent_author(session: Session, site_id: str, author_external_id: str) -> int:
    """Other comments' reply callbacks that name the author: parent_author becomes null."""
    changed = 0
    rows = session.scalars(
        select(Event).where(Event.site_id == site_id, Event.type == REPLY_APPROVED)
    )
    for event in rows:
        data = dict(event.payload.get("data") or {})
        parent = data.get("parent_author") or {}
        if parent.get("id") == author_external_id:
            data["parent_author"] = None
            event.payload = {**event.payload, "data": data}
            changed += 1
    return changed


def _drop_fingerprints(session: Session, prints: Any) -> int:
    # Bands first: SQLite cascades only with foreign keys on, and a band names no one anyway.
    _run(session, delete(SpamBand).where(SpamBand.fingerprint_id.in_(prints)))
    return _run(session, delete(SpamFingerprint).where(SpamFingerprint.id.in_(prints)))


def _personal(session: Session, author: Author, comment_ids: list[int]) -> tuple[set, set]:
    emails = {author.email.strip().lower()} if author.email else set()
    ips: set[str] = set()
    if comment_ids:
        ips = {
            ip
            for ip in session.scalars(select(Comment.ip).where(Comment.id.in_(comment_ids)))
            if ip
        }
    return emails, ips


def _erase_rows(session: Session, site_id: str, author: Author) -> tuple[dict[str, int], list[str]]:
    """Delete or anonymise the author's rows; the counts, and the IPs they posted from."""
    ids = list(
        session.scalars(
            select(Comment.id).where(Comment.site_id == site_id, Comment.author_id == author.id)
        )
    )
    emails, ips = _personal(session, author, ids)
    events = select(Event.id).where(Event.comment_id.in_(ids))
    prints = select(SpamFingerprint.id).where(SpamFingerprint.comment_id.in_(ids))
    mine = Feedback.comment_id.in_(ids)
    snapshots: list[Any] = [Feedback.author_email.in_(emails)] if emails else []
    if author.email:
        snapshots.append(Feedback.author_email == author.email)
    if ips:
        snapshots.append(Feedback.ip.in_(ips))
    counts = {
        "delivery_attempts": _run(
            session, delete(DeliveryAttempt).where(DeliveryAttempt.event_id.in_(events))
        ),
        "events": _run(session, delete(Event).where(Event.comment_id.in_(ids))),
        "callbacks_anonymised": _strip_parent_author(session, site_id, author.external_id),
        "feedback": _run(
            session,
            delete(Feedback).where(Feedback.site_id == site_id, or_(mine, *snapshots)),
        ),
        "fingerprints": _drop_fingerprints(session, prints),
        "reputation": sum(
            _run(
                session,
                delete(SpamReputation).where(
                    SpamReputation.site_id == site_id,
                    SpamReputation.kind == kind,
                    SpamReputation.value.in_(sorted(values)),
                ),
            )
            for kind, values in (("email", emails), ("ip", ips))
            if values
        ),
        "reports": _run(
            session,
            delete(Report).where(
                Report.site_id == site_id,
                or_(Report.comment_id.in_(ids), Report.reporter_id == author.external_id),
            ),
        ),
        "appeals": _run(session, delete(Appeal).where(Appeal.comment_id.in_(ids))),
        "audit_anonymised": _run(
            session,
            update(AuditEntry)
            .where(
                AuditEntry.site_id == site_id,
                or_(AuditEntry.author_id == author.id, AuditEntry.comment_id.in_(ids)),
                AuditEntry.anonymised_at.is_(None),
            )
            .values(note=None, anonymised_at=utcnow()),
        ),
    }
    _run(session, delete(ReviewClaim).where(ReviewClaim.comment_id.in_(ids)))
    _run(session, delete(AuthorStanding).where(AuthorStanding.author_id == author.id))
    counts["comments"] = _run(session, delete(Comment).where(Comment.id.in_(ids)))
    counts["authors"] = _run(session, delete(Author).where(Author.id == author.id))
    return counts, sorted(ips)


def _forget_reporter(session: Session, site_id: str, author_external_id: str) -> dict[str, int]:
    """An id that never wrote a comment may still have reported some."""
    return {
        "reports": _run(
            session,
            delete(Report).where(
                Report.site_id == site_id, Report.reporter_id == author_external_id
            ),
        )
    }


def erase_author(db: Database, site_id: str, author_external_id: str) -> Erasure:
    """Erase one author of a site now; the erasure row (status done) with its counts."""
    erasure_id = "era_" + secrets.token_hex(10)
    redis: tuple[int, list[str]] | None = None
    with db.session() as session:
        author = session.scalar(
            select(Author).where(
                Author.site_id == site_id, Author.external_id == author_external_id
            )
        )
        if author is None:
            counts = _forget_reporter(session, site_id, author_external_id)
        else:
            author_id = author.id
            counts, ips = _erase_rows(session, site_id, author)
            redis = (author_id, ips)
        erasure = Erasure(id=erasure_id, site_id=site_id, status="pending", counts=counts)
        session.add(erasure)
        session.add(
            AuditEntry(
                site_id=site_id,
                actor="site",
                action="erase_author",
                after={"erasure_id": erasure_id, "counts": counts},
            )
        )
    # Redis after the commit: a rollback above must not have lost the counters for nothing.
    removed = velocity.forget(db.settings.redis_url, site_id, [redis[0]], redis[1]) if redis else 0
    with db.session() as session:
        row = session.get(Erasure, erasure_id)
        assert row is not None
        row.counts = {**row.counts, "redis_keys": removed}
        row.status, row.finished_at = "done", utcnow()
        session.flush()
        session.expunge(row)
    log.info("author erased", extra={"erasure_id": erasure_id, "site_id": site_id})
    return row


def erasure_view(erasure: Erasure) -> dict[str, Any]:
    return schema.ErasureOut(
        erasure_id=erasure.id,
        status=erasure.status,  # type: ignore[arg-type]
        counts={k: int(v) for k, v in (erasure.counts or {}).items()},
        created_at=erasure.created_at,
        finished_at=erasure.finished_at,
    ).wire()


def find_erasure(session: Session, site_id: str, erasure_id: str) -> Erasure:
    erasure = session.get(Erasure, erasure_id)
    if erasure is None or erasure.site_id != site_id:
        raise NotFound("no such erasure", {"erasure_id": erasure_id})
    return erasure
