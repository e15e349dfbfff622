"""Moderator actions on comments and authors, one at a time or in bulk, and the audit log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, get_args

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civil import schema
from civil.decision.statement import statement_for
from civil.delivery.events import MODERATED, build_events
from civil.errors import Conflict, InvalidInput
from civil.feedback import record_moderation_label, record_spam_label, record_toxicity_label
from civil.models import (
    AuditEntry,
    AuthorStanding,
    Comment,
    utcnow,
)
from civil.moderation.accounts import Identity
from civil.moderation.claims import _check_claim, release
from civil.moderation.queue import (
    QueueFilter,
    _filtered,
    _sort_columns,
    auto_part,
    queue_count,
    visible_comment,
)
from civil.moderation.reports import settle_reports
from civil.schema import moderation as moderation_schema

REJECT_REASONS: tuple[str, ...] = get_args(moderation_schema.RejectReason)
COMMENT_ACTIONS: tuple[str, ...] = get_args(moderation_schema.CommentAction)
AUTHOR_ACTIONS: tuple[str, ...] = get_args(moderation_schema.AuthorAction)
ACTIONS = COMMENT_ACTIONS + AUTHOR_ACTIONS
BULK_ACTIONS = COMMENT_ACTIONS
STANDING_OF = {"trust": "trusted", "premoderate": "premoderated", "ban": "banned"}
ACTION_OF_STATUS = {"approved": "approve", "rejected": "reject", "held": "hold"}
MAX_BULK = 5000


# --- actions ---------------------------------------------------------------------------------


@dataclass
class ActionOutcome:
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
        return schema.ActionOutcome(
            id=self.id,
            comment_id=self.comment_id,
            site_id=self.site_id,
            action=self.action,
            before=self.before,
            status=self.after,
            events=self.event_ids,
            labels=self.labels,
        ).wire()


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
    auto = auto_part(previous)
    fields: dict[str, Any] = {}
    statement = statement_for(verdict, "moderator", [moderator_reason])
    if statement is not None:
        fields["statement"] = schema.Statement.model_validate(statement)
    return schema.Decision(
        action=verdict,  # type: ignore[arg-type]
        decided_by="moderator",
        reasons=[schema.Reason.model_validate(moderator_reason)],
        scores=schema.Scores.model_validate(
            previous.get("scores") or {"toxicity": {}, "spam": None}
        ),
        model=previous.get("model") or "none",
        decided_at=utcnow(),
        moderator=who.email,
        auto=schema.Decision.model_validate(auto) if auto else None,
        **fields,
    ).wire()


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
) -> ActionOutcome:
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
    if action in COMMENT_ACTIONS or status != before_status:
        settle_reports(session, comment.id, status)
    labels = _store_labels(session, comment, who, action, reason)
    session.add(
        AuditEntry.for_comment(
            comment,
            who.email,
            action,
            reason=reason,
            note=note,
            before=before,
            after=after,
            bulk_id=bulk_id,
        )
    )
    release(session, who, comment_id)
    return ActionOutcome(
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
    applied: list[ActionOutcome] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    bulk_id: str | None = None
    dry_run: bool = True

    def to_dict(self) -> dict[str, Any]:
        return schema.BulkResult(
            dry_run=self.dry_run,
            matched=self.matched,
            applied=len(self.applied),
            skipped=[schema.BulkSkip.model_validate(s) for s in self.skipped],
            bulk_id=self.bulk_id,
            event_ids=[e for o in self.applied for e in o.event_ids],
        ).wire()


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
