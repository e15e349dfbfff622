"""Claims: a moderator holds a comment for a while so two never review it at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civil.errors import Conflict
from civil.models import (
    ReviewClaim,
    utcnow,
)
from civil.moderation.accounts import Identity
from civil.moderation.queue import visible_comment

CLAIM_TTL = timedelta(minutes=5)


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
