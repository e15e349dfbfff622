"""Appeals: an author asks for another look at a held or rejected comment; a moderator answers.

Overturned: the comment is approved (a moderator action, audited, with its labels and a
``comment.moderated`` callback). Upheld: a held comment is rejected (likewise), a rejected one
stays rejected. Either way the site gets ``comment.appeal_decided`` with ``data.appeal``, and the
outcome is kept as an ``appeal`` label (``appeal_labels``) for calibrating the thresholds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from civil import schema
from civil.comments import find_comment
from civil.delivery.events import APPEAL_DECIDED, build_events
from civil.errors import Conflict, InvalidInput, NotFound
from civil.models import Appeal, AuditEntry, Comment, Feedback, Site, utcnow
from civil.moderation import actions
from civil.moderation.accounts import Identity
from civil.moderation.queue import visible_comment
from civil.schema.readers import AppealIn, AppealOutcome

APPEALABLE = ("held", "rejected")
OUTCOMES: tuple[str, ...] = get_args(AppealOutcome)


def open_appeal(session: Session, comment_id: int) -> Appeal | None:
    return session.scalar(
        select(Appeal).where(Appeal.comment_id == comment_id, Appeal.status == "open")
    )


def file_appeal(session: Session, site: Site, external_id: str, data: AppealIn) -> Appeal:
    """Open an appeal of a held or rejected comment (409 otherwise, or when one is open)."""
    comment = find_comment(session, site.id, external_id)
    if comment.status not in APPEALABLE:
        raise Conflict(
            f"only a held or rejected comment can be appealed; this one is {comment.status}",
            {"id": external_id, "status": comment.status, "appealable": list(APPEALABLE)},
            code="not_appealable",
        )
    # Row lock: two appeals at once must not both find no open appeal (PostgreSQL; SQLite
    # serialises writers anyway).
    session.execute(select(Comment.id).where(Comment.id == comment.id).with_for_update())
    current = open_appeal(session, comment.id)
    if current is not None:
        raise Conflict(
            "this comment already has an open appeal",
            {"id": external_id, "appeal_id": current.id},
            code="appeal_open",
        )
    appeal = Appeal(
        id="apl_" + secrets.token_hex(10),
        site_id=site.id,
        comment_id=comment.id,
        note=data.note,
        status="open",
        status_appealed=comment.status,
    )
    session.add(appeal)
    return appeal


@dataclass
class AppealDecided:
    appeal_id: str
    outcome: str
    status: str
    event_ids: list[str] = field(default_factory=list)


def _visible_appeal(session: Session, who: Identity, appeal_id: str) -> Appeal:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or not who.may_see(appeal.site_id):
        raise NotFound("no such appeal", {"appeal_id": appeal_id})
    return appeal


def decide_appeal(
    session: Session,
    who: Identity,
    appeal_id: str,
    outcome: str,
    note: str | None = None,
    reason: str | None = None,
) -> AppealDecided:
    """Answer an open appeal: state, audit, label and callbacks in the caller's transaction."""
    if outcome not in OUTCOMES:
        raise InvalidInput("unknown outcome", {"outcome": outcome, "allowed": list(OUTCOMES)})
    if note is not None and len(note) > 2000:
        raise InvalidInput("note is longer than 2000 characters", {"length": len(note)})
    appeal = _visible_appeal(session, who, appeal_id)
    if appeal.status != "open":
        raise Conflict(
            f"the appeal was already answered ({appeal.status})",
            {"appeal_id": appeal_id, "status": appeal.status},
            code="appeal_closed",
        )
    comment = visible_comment(session, who, appeal.comment_id)
    event_ids: list[str] = []
    if outcome == "overturned" and comment.status != "approved":
        event_ids += actions.act(session, who, comment.id, "approve", None, note).event_ids
    elif outcome == "upheld" and comment.status == "held":
        event_ids += actions.act(
            session, who, comment.id, "reject", reason or "other", note
        ).event_ids
    appeal.status, appeal.answer_note = outcome, note
    appeal.moderator, appeal.decided_at = who.email, utcnow()
    session.refresh(comment)
    session.add(
        Feedback(
            site_id=comment.site_id,
            comment_id=comment.id,
            kind="appeal",
            label=outcome,
            source="moderator",
            actor=who.email,
            text=comment.content,
        )
    )
    session.add(
        AuditEntry.for_comment(
            comment,
            who.email,
            f"appeal_{outcome}",
            note=note,
            before={"status": appeal.status_appealed},
            after={"status": comment.status, "appeal_id": appeal.id},
        )
    )
    answer = schema.AppealAnswer(id=appeal.id, outcome=outcome, note=note)  # type: ignore[arg-type]
    event_ids += [
        e.id for e in build_events(session, comment, APPEAL_DECIDED, {"appeal": answer.wire()})
    ]
    return AppealDecided(appeal.id, outcome, comment.status, event_ids)


def appeals_view(session: Session, who: Identity, limit: int = 50) -> list[dict[str, Any]]:
    """Open appeals, oldest first, with their comment."""
    stmt = select(Appeal).where(Appeal.status == "open").order_by(Appeal.created_at).limit(limit)
    if who.site_ids is not None:
        stmt = stmt.where(Appeal.site_id.in_(sorted(who.site_ids)))
    out = []
    for appeal in session.scalars(stmt):
        comment = session.get(Comment, appeal.comment_id)
        out.append({"appeal": appeal, "comment": comment})
    return out


@dataclass(frozen=True)
class AppealLabel:
    """A moderator's answer to an appeal: whether the decision appealed was right."""

    comment_id: int
    outcome: str  # upheld | overturned
    status_appealed: str
    decision: dict[str, Any] | None  # the comment's decision now (the automatic one in `auto`)
    decided_at: Any


def appeal_labels(session: Session, site_id: str) -> Iterator[AppealLabel]:
    """A site's answered appeals, oldest first: overturned ones are the decisions that erred."""
    rows = session.execute(
        select(Appeal, Comment.decision)
        .join(Comment, Comment.id == Appeal.comment_id)
        .where(Appeal.site_id == site_id, Appeal.status.in_(OUTCOMES))
        .order_by(Appeal.decided_at, Appeal.id)
    )
    for appeal, decision in rows:
        yield AppealLabel(
            appeal.comment_id, appeal.status, appeal.status_appealed, decision, appeal.decided_at
        )
