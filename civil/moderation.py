"""The moderator's work: the review queue, actions, bulk actions, claims, author standing, audit."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from civil.callbacks import MODERATED, build_events, rfc3339
from civil.errors import Conflict, InvalidInput, NotFound
from civil.feedback import record_moderation_label, record_spam_label, record_toxicity_label
from civil.models import (
    Article,
    AuditEntry,
    Author,
    AuthorStanding,
    Comment,
    Feedback,
    ReviewClaim,
    Site,
    utcnow,
)
from civil.moderators import Identity

VIEWS = ("held", "pending", "approved", "rejected")
REASONS = ("toxic", "spam", "words", "links", "new_author", "reported")
SORTS = ("oldest", "newest")
REJECT_REASONS = ("offensive", "abusive", "spam", "off-topic", "other")
COMMENT_ACTIONS = ("approve", "reject", "spam", "not_spam")
AUTHOR_ACTIONS = ("trust", "premoderate", "ban", "clear_standing")
ACTIONS = COMMENT_ACTIONS + AUTHOR_ACTIONS
BULK_ACTIONS = COMMENT_ACTIONS
STANDING_OF = {"trust": "trusted", "premoderate": "premoderated", "ban": "banned"}
ACTION_OF_STATUS = {"approved": "approve", "rejected": "reject", "held": "hold"}
CLAIM_TTL = timedelta(minutes=5)
MAX_PAGE = 100
MAX_BULK = 5000


def _family(code: str) -> str:
    if code.startswith("toxic"):
        return "toxic"
    if code == "spam_links":
        return "links"
    if code.startswith("spam"):
        return "spam"
    if code in ("banned_word", "suspect_word"):
        return "words"
    if code.startswith("rate_"):
        return "rate"
    return code


def reason_tags(decision: dict[str, Any] | None) -> str | None:
    """The families of the reasons that held or rejected a comment, as ',toxic,spam,'."""
    reasons = (decision or {}).get("reasons") or []
    tags = sorted({_family(r["code"]) for r in reasons if r.get("action") in ("hold", "reject")})
    return "," + ",".join(tags) + "," if tags else None


# --- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """What a queue page, a count or a bulk action covers."""

    view: str = "held"
    reason: str | None = None
    site_id: str | None = None
    article: str | None = None
    author: str | None = None
    ip: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> QueueFilter:
        """Build a filter from query-string or JSON values; 422 on anything unknown."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(k for k in raw if k not in known)
        if unknown:
            raise InvalidInput("unknown filter fields", {"fields": unknown})
        wrong = sorted(k for k, v in raw.items() if v is not None and not isinstance(v, str))
        if wrong:
            raise InvalidInput("filter values are strings", {"fields": wrong})
        values: dict[str, Any] = {k: (v or None) for k, v in raw.items()}
        for key in ("since", "until"):
            if isinstance(values.get(key), str):
                values[key] = _parse_time(key, values[key])
        out = replace(cls(), **{k: v for k, v in values.items() if v is not None})
        for name, allowed in (("view", VIEWS), ("reason", REASONS), ("sort", SORTS)):
            value = getattr(out, name)
            if value is not None and value not in allowed:
                raise InvalidInput(
                    f"unknown {name}", {"field": name, "value": value, "allowed": list(allowed)}
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in out.items()
            if v is not None
        }

    @property
    def newest_first(self) -> bool:
        # Review queues default to oldest first; recently decided views to newest first.
        return (self.sort or ("newest" if self.decided_order else "oldest")) == "newest"

    @property
    def decided_order(self) -> bool:
        # Recently decided views list what was decided last first, by decision time.
        return self.view in ("approved", "rejected")


def _parse_time(key: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput("not an ISO 8601 time", {"field": key, "value": value}) from exc
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


def _scoped(stmt: Select[Any], who: Identity) -> Select[Any]:
    if who.site_ids is None:
        return stmt
    return stmt.where(Comment.site_id.in_(sorted(who.site_ids)))


def _reason_clause(reason: str) -> Any:
    if reason == "new_author":
        earlier = aliased(Comment)
        return and_(
            Comment.author_id.is_not(None),
            ~exists().where(
                earlier.site_id == Comment.site_id,
                earlier.author_id == Comment.author_id,
                earlier.status == "approved",
                earlier.id != Comment.id,
            ),
        )
    if reason == "reported":
        return exists().where(
            Feedback.comment_id == Comment.id,
            Feedback.kind == "spam",
            Feedback.label == "spam",
            Feedback.source.in_(("site", "akismet")),
        )
    return Comment.reason_tags.like(f"%,{reason},%")


def _filtered(stmt: Select[Any], who: Identity, flt: QueueFilter) -> Select[Any]:
    stmt = _scoped(stmt, who).where(Comment.status == flt.view)
    if flt.site_id:
        stmt = stmt.where(Comment.site_id == flt.site_id)
    if flt.reason:
        stmt = stmt.where(_reason_clause(flt.reason))
    if flt.article:
        stmt = stmt.where(
            Comment.article_id.in_(select(Article.id).where(Article.external_id == flt.article))
        )
    if flt.author:
        stmt = stmt.where(
            Comment.author_id.in_(select(Author.id).where(Author.external_id == flt.author))
        )
    if flt.ip:
        stmt = stmt.where(Comment.ip == flt.ip)
    if flt.since:
        stmt = stmt.where(Comment.received_at >= flt.since)
    if flt.until:
        stmt = stmt.where(Comment.received_at < flt.until)
    if flt.q:
        # A substring scan, but only over the rows the status and other filters leave.
        stmt = stmt.where(func.lower(Comment.content).contains(flt.q.lower(), autoescape=True))
    return stmt


def _sort_columns(flt: QueueFilter) -> tuple[Any, Any]:
    return (Comment.decided_at if flt.decided_order else Comment.received_at), Comment.id


def encode_cursor(moment: datetime, comment_id: int) -> str:
    raw = f"{moment.isoformat()}|{comment_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, comment_id = raw.split("|")
        return datetime.fromisoformat(moment), int(comment_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("bad cursor", {"cursor": cursor}) from exc


def queue_page(
    session: Session, who: Identity, flt: QueueFilter, cursor: str | None = None, limit: int = 25
) -> tuple[list[Comment], str | None]:
    """One page of the queue and the cursor of the next (keyset: no OFFSET, fast at any depth)."""
    limit = max(1, min(limit, MAX_PAGE))
    key, tiebreak = _sort_columns(flt)
    desc = flt.newest_first
    stmt = _filtered(select(Comment), who, flt)
    if cursor:
        moment, last_id = decode_cursor(cursor)
        after = tuple_(key, tiebreak)
        stmt = stmt.where(after < (moment, last_id) if desc else after > (moment, last_id))
    order = (key.desc(), tiebreak.desc()) if desc else (key.asc(), tiebreak.asc())
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        moment = last.decided_at if flt.decided_order else last.received_at
        assert moment is not None
        next_cursor = encode_cursor(moment, last.id)
    return rows, next_cursor


def queue_count(session: Session, who: Identity, flt: QueueFilter) -> int:
    """How many comments a filter matches (the bulk dry run)."""
    return int(session.scalar(_filtered(select(func.count(Comment.id)), who, flt)) or 0)


def visible_comment(session: Session, who: Identity, comment_id: int) -> Comment:
    """A comment this moderator may see; another site's comment is simply not found."""
    comment = session.get(Comment, comment_id)
    if comment is None or not who.may_see(comment.site_id):
        raise NotFound("no such comment", {"id": comment_id})
    return comment


def comment_by_external_id(session: Session, who: Identity, site_id: str, external_id: str) -> int:
    """Civil's id of a site's comment (for callers that only know the site's own id)."""
    if not who.may_see(site_id):
        raise NotFound("no such comment", {"site_id": site_id, "id": external_id})
    found = session.scalar(
        select(Comment.id).where(Comment.site_id == site_id, Comment.external_id == external_id)
    )
    if found is None:
        raise NotFound("no such comment", {"site_id": site_id, "id": external_id})
    return int(found)


def moderator_sites(session: Session, who: Identity) -> list[Site]:
    stmt = select(Site).order_by(Site.name)
    if who.site_ids is not None:
        stmt = stmt.where(Site.id.in_(sorted(who.site_ids)))
    return list(session.scalars(stmt))


def auto_part(decision: dict[str, Any] | None) -> dict[str, Any]:
    """The automatic decision's reasons and scores (kept inside a moderator's decision)."""
    decision = decision or {}
    if decision.get("decided_by") == "moderator":
        return decision.get("auto") or {}
    return decision


def active_claim(session: Session, comment_id: int) -> ReviewClaim | None:
    claim = session.get(ReviewClaim, comment_id)
    return claim if claim is not None and claim.expires_at > utcnow() else None


# --- claims ----------------------------------------------------------------------------------


def claim(session: Session, who: Identity, comment_id: int) -> datetime:
    """Hold a comment for CLAIM_TTL so another moderator skips it; 409 if someone else has it."""
    visible_comment(session, who, comment_id)
    now = utcnow()
    expires = now + CLAIM_TTL
    taken = session.execute(
        update(ReviewClaim)
        .where(
            ReviewClaim.comment_id == comment_id,
            or_(ReviewClaim.moderator_id == who.id, ReviewClaim.expires_at <= now),
        )
        .values(moderator_id=who.id, moderator_email=who.email, expires_at=expires)
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return expires
    if session.get(ReviewClaim, comment_id) is None:
        try:
            # A savepoint: losing an insert race must not spoil the caller's transaction.
            with session.begin_nested():
                session.add(
                    ReviewClaim(
                        comment_id=comment_id,
                        moderator_id=who.id,
                        moderator_email=who.email,
                        expires_at=expires,
                    )
                )
            return expires
        except IntegrityError:
            pass  # someone else inserted first
    holder = session.get(ReviewClaim, comment_id)
    raise Conflict(
        "another moderator is reviewing this comment",
        {"claimed_by": holder.moderator_email if holder else None},
        code="claimed",
    )


def release(session: Session, who: Identity, comment_id: int) -> None:
    session.execute(
        delete(ReviewClaim).where(
            ReviewClaim.comment_id == comment_id, ReviewClaim.moderator_id == who.id
        )
    )


def _check_claim(session: Session, who: Identity, comment_id: int) -> None:
    held = active_claim(session, comment_id)
    if held is not None and held.moderator_id != who.id:
        raise Conflict(
            "another moderator is reviewing this comment",
            {"claimed_by": held.moderator_email},
            code="claimed",
        )


# --- actions ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one action did: the state change and the outbox events to deliver after commit."""

    id: int
    comment_id: str
    site_id: str
    action: str
    before: str
    after: str
    event_ids: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "comment_id": self.comment_id,
            "site_id": self.site_id,
            "action": self.action,
            "before": self.before,
            "status": self.after,
            "events": self.event_ids,
            "labels": self.labels,
        }


def _validate(action: str, reason: str | None, note: str | None) -> str | None:
    if action not in ACTIONS:
        raise InvalidInput("unknown action", {"action": action, "allowed": list(ACTIONS)})
    if action == "reject" and reason not in REJECT_REASONS:
        raise InvalidInput(
            "reject needs a reason", {"reason": reason, "allowed": list(REJECT_REASONS)}
        )
    if action == "spam":
        reason = "spam"
    if reason is not None and reason not in REJECT_REASONS:
        raise InvalidInput("unknown reason", {"reason": reason, "allowed": list(REJECT_REASONS)})
    if note is not None and len(note) > 2000:
        raise InvalidInput("note is longer than 2000 characters", {"length": len(note)})
    return reason


def _target_status(action: str, current: str) -> str:
    if action in ("approve", "not_spam", "trust"):
        return "approved"
    if action in ("reject", "spam", "ban"):
        return "rejected"
    return current  # premoderate / clear_standing change the author, not this comment


def _moderator_decision(
    comment: Comment, who: Identity, action: str, status: str, reason: str | None, note: str | None
) -> dict[str, Any]:
    previous = comment.decision or {}
    verdict = ACTION_OF_STATUS[status]
    detail = f"{action.replace('_', ' ')} by a moderator" + (f" ({reason})" if reason else "")
    moderator_reason: dict[str, Any] = {
        "code": f"moderator_{action}",
        "detail": detail,
        "action": verdict,
    }
    if reason:
        moderator_reason["reason"] = reason
    if note:
        moderator_reason["note"] = note
    return {
        "action": verdict,
        "decided_by": "moderator",
        "reasons": [moderator_reason],
        "scores": previous.get("scores") or {"toxicity": {}, "spam": None},
        "model": previous.get("model") or "none",
        "decided_at": rfc3339(utcnow()),
        "moderator": who.email,
        "auto": auto_part(previous) or None,
    }


def _store_labels(
    session: Session, comment: Comment, who: Identity, action: str, reason: str | None
) -> list[str]:
    """The feedback labels an action teaches the models (the README has the table)."""
    labels: list[str] = []

    def toxicity(label: str, value: float) -> None:
        record_toxicity_label(
            session,
            comment.site_id,
            comment.content,
            label,
            value,
            "moderator",
            comment_id=comment.id,
            actor=who.email,
        )
        labels.append(f"toxicity:{label}={value:g}")

    def spam(label: str) -> None:
        record_spam_label(session, comment, label, "moderator", actor=who.email)
        labels.append(f"spam:{label}")

    if action in ("approve", "trust"):
        spam("ham")
        toxicity("toxicity", 0.0)
    elif action == "not_spam":
        spam("ham")
    elif action == "spam" or reason == "spam":
        spam("spam")
    elif reason == "offensive":
        toxicity("toxicity", 1.0)
    elif reason == "abusive":
        toxicity("toxicity", 1.0)
        toxicity("insult", 1.0)
    elif reason == "off-topic":
        spam("ham")
    if not labels:
        # Rejected as "other", pre-moderated, standing cleared: a moderation label keeps the
        # human judgement for later use without teaching spam or toxicity anything wrong.
        record_moderation_label(session, comment, reason or action, who.email)
        labels.append(f"moderation:{reason or action}")
    return labels


def _set_standing(session: Session, who: Identity, comment: Comment, action: str) -> str | None:
    if comment.author_id is None:
        raise InvalidInput("this comment has no author to act on", {"action": action})
    row = session.get(AuthorStanding, comment.author_id)
    before = row.standing if row else None
    if action == "clear_standing":
        if row is not None:
            session.delete(row)
        return before
    if row is None:
        row = AuthorStanding(author_id=comment.author_id, site_id=comment.site_id)
        session.add(row)
    row.standing, row.actor, row.updated_at = STANDING_OF[action], who.email, utcnow()
    return before


def act(
    session: Session,
    who: Identity,
    comment_id: int,
    action: str,
    reason: str | None = None,
    note: str | None = None,
    *,
    bulk_id: str | None = None,
    expect_status: str | None = None,
) -> Outcome:
    """Apply one moderator action: state, audit row, feedback label and outbox events, together.

    All of it goes into the caller's transaction, so a failure stores none of it.
    """
    reason = _validate(action, reason, note)
    comment = visible_comment(session, who, comment_id)
    _check_claim(session, who, comment_id)
    before_status, revision = comment.status, comment.revision
    if expect_status is not None and before_status != expect_status:
        # The moderator (or the bulk filter) saw another state: someone decided it meanwhile.
        raise Conflict(
            f"the comment is {before_status} now, not {expect_status}; reload it",
            {"id": comment_id, "status": before_status},
            code="changed",
        )
    before: dict[str, Any] = {
        "status": before_status,
        "decided_by": (comment.decision or {}).get("decided_by"),
    }
    after: dict[str, Any] = {}
    if action in AUTHOR_ACTIONS:
        before["standing"] = _set_standing(session, who, comment, action)
        after["standing"] = STANDING_OF.get(action)
    status = _target_status(action, before_status)
    event_ids: list[str] = []
    if status != before_status:
        # Conditional on what the moderator saw: a worker deciding an edit, or another
        # moderator, changed it meanwhile -> 409 and nothing of this action is stored.
        changed = session.execute(
            update(Comment)
            .where(
                Comment.id == comment_id,
                Comment.revision == revision,
                Comment.status == before_status,
            )
            .values(
                status=status,
                decision=_moderator_decision(comment, who, action, status, reason, note),
                decided_at=utcnow(),
                claimed_until=None,
            )
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("the comment changed meanwhile; reload it", {"id": comment_id})
        session.refresh(comment)
        event_ids = [e.id for e in build_events(session, comment, MODERATED)]
    after["status"] = status
    labels = _store_labels(session, comment, who, action, reason)
    session.add(
        AuditEntry(
            site_id=comment.site_id,
            comment_id=comment.id,
            comment_external_id=comment.external_id,
            author_id=comment.author_id,
            actor=who.email,
            action=action,
            reason=reason,
            note=note,
            before=before,
            after=after,
            bulk_id=bulk_id,
        )
    )
    release(session, who, comment_id)
    return Outcome(
        comment.id,
        comment.external_id,
        comment.site_id,
        action,
        before_status,
        status,
        event_ids,
        labels,
    )


@dataclass
class BulkResult:
    matched: int
    applied: list[Outcome] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    bulk_id: str | None = None
    dry_run: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "matched": self.matched,
            "applied": len(self.applied),
            "skipped": self.skipped,
            "bulk_id": self.bulk_id,
            "event_ids": [e for o in self.applied for e in o.event_ids],
        }


def bulk(
    session: Session,
    who: Identity,
    flt: QueueFilter,
    action: str,
    reason: str | None = None,
    note: str | None = None,
    *,
    dry_run: bool = True,
    expected: int | None = None,
) -> BulkResult:
    """Count (dry run) or apply one action to everything a filter matches, each one audited."""
    if action not in BULK_ACTIONS:
        raise InvalidInput("unknown bulk action", {"action": action, "allowed": list(BULK_ACTIONS)})
    _validate(action, reason, note)
    matched = queue_count(session, who, flt)
    if matched > MAX_BULK:
        raise InvalidInput(
            f"the filter matches {matched} comments; narrow it to at most {MAX_BULK}",
            {"matched": matched, "limit": MAX_BULK},
            code="bulk_too_large",
        )
    if dry_run:
        return BulkResult(matched)
    if expected is not None and expected != matched:
        raise Conflict(
            "the filter matches a different number of comments now; preview again",
            {"expected": expected, "matched": matched},
            code="bulk_changed",
        )
    key, tiebreak = _sort_columns(flt)
    # At most what was counted (and so at most MAX_BULK): comments arriving after the count
    # are newer, and stay out of what the moderator confirmed.
    listing = _filtered(select(Comment.id), who, flt).order_by(key, tiebreak).limit(matched)
    ids = list(session.scalars(listing))
    result = BulkResult(matched, bulk_id="bulk_" + secrets.token_hex(8), dry_run=False)
    for comment_id in ids:
        try:
            # One savepoint per comment: a comment claimed or changed meanwhile is skipped
            # and reported, the rest still go through.
            with session.begin_nested():
                outcome = act(
                    session,
                    who,
                    comment_id,
                    action,
                    reason,
                    note,
                    bulk_id=result.bulk_id,
                    expect_status=flt.view,
                )
            result.applied.append(outcome)
        except Conflict as exc:
            result.skipped.append({"id": comment_id, "error": exc.code, "message": exc.message})
    return result


def recent_audit(session: Session, who: Identity, limit: int = 50) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if who.site_ids is not None:
        stmt = stmt.where(AuditEntry.site_id.in_(sorted(who.site_ids)))
    return list(session.scalars(stmt))
