"""What a moderator sees of one comment: context, author history, scores, highlights, trail."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.decision.policy import Policy
from civil.decision.rules import plain_text
from civil.delivery.events import rfc3339
from civil.models import AuditEntry, AuthorStanding, Comment, Site, utcnow
from civil.moderation.claims import active_claim
from civil.moderation.queue import auto_part
from civil.schema import QueueItem
from civil.scoring import TOXICITY_LABELS

RECENT_DAYS = 30


def automatic_standing(policy: Policy, counts: Counter[str], total: int) -> dict[str, Any]:
    """What the site's automatic standing rules make of an author with these counts."""
    earned = policy.trust_after_approved
    return {
        "trust_after_approved": earned,
        "earned_trust": bool(earned and counts["approved"] >= earned and not counts["rejected"]),
        "premoderate_first": policy.premoderate_first,
        "still_new": bool(policy.premoderate_first and total <= policy.premoderate_first),
        "rejection_rate_limit": policy.rejection_rate_limit,
    }


def author_history(
    session: Session, comment: Comment, policy: Policy | None = None
) -> dict[str, Any] | None:
    """Counts by status, the recent rejection rate and first-seen of the comment's author."""
    author = comment.author
    if author is None:
        return None
    # One indexed read of (status, decided_at) per comment, counted here: a GROUP BY status
    # tempts the planner into walking the whole site's status index instead.
    rows = session.execute(
        select(Comment.status, Comment.decided_at).where(
            Comment.site_id == comment.site_id, Comment.author_id == author.id
        )
    ).all()
    since = utcnow() - timedelta(days=RECENT_DAYS)
    counts = Counter(status for status, _ in rows)
    recent = Counter(
        status
        for status, decided_at in rows
        if decided_at is not None and decided_at >= since and status in ("approved", "rejected")
    )
    decided = recent["approved"] + recent["rejected"]
    standing = session.get(AuthorStanding, author.id)
    return {
        "id": author.external_id,
        "name": author.name,
        "email": author.email,
        "first_seen_at": author.first_seen_at,
        "counts": {s: int(counts.get(s, 0)) for s in ("approved", "held", "rejected", "pending")},
        "total": len(rows),
        "recent_rejection_rate": round(recent["rejected"] / decided, 3) if decided else None,
        "recent_days": RECENT_DAYS,
        "standing": standing.standing if standing else None,
        "automatic": automatic_standing(policy or Policy(), counts, len(rows)),
    }


def score_table(policy: Policy, decision: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every score with the hold and reject thresholds and which one it crossed."""
    scores = (auto_part(decision).get("scores") or {}) if decision else {}
    rows = []
    toxicity = scores.get("toxicity") or {}
    for label in TOXICITY_LABELS:
        if label in toxicity:
            rows.append(
                _score_row(
                    label,
                    toxicity[label],
                    policy.hold_thresholds.get(label),
                    policy.thresholds.get(label),
                )
            )
    if scores.get("spam") is not None:
        rows.append(
            _score_row("spam", scores["spam"], policy.spam_hold_threshold, policy.spam_threshold)
        )
    return rows


def _score_row(
    label: str, score: float, hold: float | None, reject: float | None
) -> dict[str, Any]:
    crossed = None
    if reject is not None and score >= reject:
        crossed = "reject"
    elif hold is not None and score >= hold:
        crossed = "hold"
    return {"label": label, "score": score, "hold": hold, "reject": reject, "crossed": crossed}


def highlighted(comment: Comment, reasons: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The visible text cut into (piece, is_highlighted) by the spans of the toxicity reasons."""
    text = plain_text(comment.content, comment.content_type)
    marks = [False] * len(text)
    for reason in reasons:
        if not str(reason.get("code", "")).startswith("toxic"):
            continue
        for start, end in reason.get("spans") or []:
            for i in range(max(0, int(start)), min(len(text), int(end))):
                marks[i] = True
    pieces: list[tuple[str, bool]] = []
    for char, mark in zip(text, marks, strict=True):
        if pieces and pieces[-1][1] == mark:
            pieces[-1] = (pieces[-1][0] + char, mark)
        else:
            pieces.append((char, mark))
    return pieces


def parent_of(session: Session, comment: Comment) -> Comment | None:
    if not comment.parent_external_id:
        return None
    return session.scalar(
        select(Comment).where(
            Comment.site_id == comment.site_id, Comment.external_id == comment.parent_external_id
        )
    )


def audit_of(session: Session, comment: Comment) -> list[AuditEntry]:
    # The log keeps plain ids and outlives deleted sites, and SQLite reuses a deleted highest
    # rowid: a trail is this comment's only when its site and the site's comment id match too.
    return list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.comment_id == comment.id,
                AuditEntry.site_id == comment.site_id,
                AuditEntry.comment_external_id == comment.external_id,
            )
            .order_by(AuditEntry.id)
        )
    )


def item_view(session: Session, comment: Comment, full: bool = True) -> dict[str, Any]:
    """Everything the workspace shows for one comment."""
    site = session.get(Site, comment.site_id)
    article = comment.article
    # The thresholds shown are the ones that applied: the article's and section's overrides.
    policy, _ = Policy.from_dict(site.policy if site else None).effective(
        article.external_id if article else None, article.section if article else None
    )
    auto = auto_part(comment.decision)
    reasons = [r for r in auto.get("reasons") or [] if r.get("code") != "clean"]
    parent = parent_of(session, comment)
    claim = active_claim(session, comment.id)
    view: dict[str, Any] = {
        "id": comment.id,
        "comment_id": comment.external_id,
        "site_id": comment.site_id,
        "site_name": site.name if site else comment.site_id,
        "status": comment.status,
        "content": comment.content,
        "content_type": comment.content_type,
        "segments": highlighted(comment, reasons),
        "inline_quote": comment.inline_quote,
        "ip": comment.ip,
        "received_at": comment.received_at,
        "decided_at": comment.decided_at,
        "decision": comment.decision,
        "decided_by": (comment.decision or {}).get("decided_by"),
        "article": (
            {
                "id": comment.article.external_id,
                "title": comment.article.title,
                "url": comment.article.url,
            }
            if comment.article
            else None
        ),
        "parent": (
            {
                "id": parent.id,
                "comment_id": parent.external_id,
                "author": parent.author.name if parent.author else None,
                "content": parent.content[:600],
                "status": parent.status,
            }
            if parent
            else None
        ),
        "author": author_history(session, comment, policy),
        "scores": score_table(policy, comment.decision),
        "reasons": reasons,
        "claimed_by": claim.moderator_email if claim else None,
    }
    if full:
        view["audit"] = [audit_view(e) for e in audit_of(session, comment)]
    return view


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": rfc3339(entry.created_at),
        "actor": entry.actor,
        "action": entry.action,
        "reason": entry.reason,
        "note": entry.note,
        "before": entry.before,
        "after": entry.after,
        "bulk_id": entry.bulk_id,
        "comment_external_id": entry.comment_external_id,
    }


def queue_item_json(view: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of an item view (the QueueItem model: RFC 3339 times, highlight as spans)."""
    out = dict(view)
    spans, offset = [], 0
    for piece, marked in out.pop("segments"):
        if marked:
            spans.append([offset, offset + len(piece)])
        offset += len(piece)
    out["highlight_spans"] = spans
    return QueueItem.model_validate(out).wire()
