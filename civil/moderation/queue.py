"""The review queue: filters, views, sorting and keyset pages of a moderator's comments."""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import Select, and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from civil.errors import InvalidInput, NotFound
from civil.models import (
    Article,
    Author,
    Comment,
    Feedback,
    Report,
    Site,
)
from civil.moderation.accounts import Identity
from civil.schema import moderation as moderation_schema

VIEWS: tuple[str, ...] = get_args(moderation_schema.QueueView)
REASONS: tuple[str, ...] = get_args(moderation_schema.QueueReason)
SORTS: tuple[str, ...] = get_args(moderation_schema.QueueSort)
MAX_PAGE = 100


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
        # A site's spam label, or readers' reports nobody has settled yet.
        return or_(
            exists().where(
                Feedback.comment_id == Comment.id,
                Feedback.kind == "spam",
                Feedback.label == "spam",
                Feedback.source.in_(("site", "akismet")),
            ),
            exists().where(Report.comment_id == Comment.id, Report.outcome.is_(None)),
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
    if decision.get("decided_by") in ("moderator", "reports"):
        return decision.get("auto") or {}
    return decision
