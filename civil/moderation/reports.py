"""Reader reports: one per reader and comment, an auto-hold at the site's threshold.

Reporter weight (documented in the README): a reader's report counts
``(upheld + 2) / (upheld + overruled + 2)`` of a full report, where ``upheld`` and
``overruled`` count their earlier reports on the site that a moderator settled by rejecting,
respectively approving, the comment. A new reader counts 1; two overruled reports halve them;
upheld reports bring them back towards 1 (never above). A comment is held when the summed
weight of its unsettled reports reaches the policy's ``report_hold_threshold``. A report is
never a spam or toxicity label: only a moderator's later action teaches the models.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civil import schema
from civil.comments import find_comment
from civil.db import Database
from civil.decision.policy import Policy
from civil.decision.tags import reason_tags
from civil.delivery.events import DECIDED, build_events
from civil.models import AuditEntry, Comment, Report, Site, utcnow
from civil.moderation.accounts import Identity
from civil.moderation.queue import auto_part
from civil.schema.readers import ReportIn

PRIOR = 2.0  # a new reader counts as if two of their reports had been upheld


@dataclass
class Reported:
    report: Report
    external_id: str
    reporters: int
    created: bool
    event_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return schema.ReportOut(
            report_id=self.report.id, comment_id=self.external_id, reports=self.reporters
        ).wire()


def reporter_weight(session: Session, site_id: str, reporter_id: str) -> float:
    """How much a new report of this reader counts (see the module docstring)."""
    rows = session.execute(
        select(Report.outcome, func.count())
        .where(
            Report.site_id == site_id,
            Report.reporter_id == reporter_id,
            Report.outcome.is_not(None),
        )
        .group_by(Report.outcome)
    ).all()
    counts = {outcome: int(n) for outcome, n in rows}
    upheld, overruled = counts.get("upheld", 0), counts.get("overruled", 0)
    return round((upheld + PRIOR) / (upheld + overruled + PRIOR), 4)


def _existing(session: Session, comment_id: int, reporter_id: str) -> Report | None:
    return session.scalar(
        select(Report).where(Report.comment_id == comment_id, Report.reporter_id == reporter_id)
    )


def _distinct(session: Session, comment_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Report.comment_id == comment_id)) or 0)


def open_reports(session: Session, comment_id: int) -> list[Report]:
    """The reports of a comment no moderator has settled yet."""
    return list(
        session.scalars(
            select(Report)
            .where(Report.comment_id == comment_id, Report.outcome.is_(None))
            .order_by(Report.created_at)
        )
    )


def _hold_decision(comment: Comment, reports: list[Report], threshold: float) -> dict[str, Any]:
    previous = comment.decision or {}
    weight = round(sum(r.weight for r in reports), 4)
    reasons = Counter(r.reason for r in reports)
    auto = auto_part(previous)
    return schema.Decision(
        action="hold",
        decided_by="reports",
        reasons=[
            schema.Reason.model_validate(
                {
                    "code": "reported",
                    "detail": f"{len(reports)} readers reported it "
                    f"(weight {weight:g} >= threshold {threshold:g})",
                    "action": "hold",
                    "score": weight,
                    "threshold": threshold,
                    "reports": len(reports),
                    "report_reasons": dict(sorted(reasons.items())),
                }
            )
        ],
        scores=schema.Scores.model_validate(
            previous.get("scores") or {"toxicity": {}, "spam": None}
        ),
        model=previous.get("model") or "none",
        decided_at=utcnow(),
        auto=schema.Decision.model_validate(auto) if auto else None,
    ).wire()


def _maybe_hold(session: Session, site: Site, comment: Comment) -> list[str]:
    """Hold an approved comment whose unsettled reports reach the threshold; its event ids."""
    if comment.status != "approved":
        return []
    threshold = Policy.from_dict(site.policy).report_hold_threshold
    reports = open_reports(session, comment.id)
    if sum(r.weight for r in reports) < threshold:
        return []
    decided_by = (comment.decision or {}).get("decided_by")
    decision = _hold_decision(comment, reports, threshold)
    # Conditional on the state read: a moderator or an edit changing it meanwhile wins.
    changed = session.execute(
        update(Comment)
        .where(
            Comment.id == comment.id,
            Comment.revision == comment.revision,
            Comment.status == "approved",
        )
        .values(
            status="held",
            decision=decision,
            decided_at=utcnow(),
            reason_tags=reason_tags(decision),
        )
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return []
    session.refresh(comment)
    session.add(
        AuditEntry.for_comment(
            comment,
            "reports",
            "report_hold",
            reason="reported",
            before={"status": "approved", "decided_by": decided_by},
            after={"status": "held", "reports": len(reports)},
        )
    )
    return [e.id for e in build_events(session, comment, DECIDED)]


def hold_reported(db: Database, comment_ids: list[int]) -> list[str]:
    """Reports that came while these comments were pending: hold the approved ones at the
    threshold now (the worker calls this after recording); the new events' ids."""
    if not comment_ids:
        return []
    events: list[str] = []
    with db.session() as session:
        reported = session.scalars(
            select(Report.comment_id)
            .where(Report.comment_id.in_(comment_ids), Report.outcome.is_(None))
            .distinct()
        ).all()
        for comment_id in reported:
            comment = session.get(Comment, comment_id)
            site = session.get(Site, comment.site_id) if comment is not None else None
            if comment is not None and site is not None:
                events += _maybe_hold(session, site, comment)
    return events


def report_comment(session: Session, site: Site, external_id: str, data: ReportIn) -> Reported:
    """Store a reader's report (a repeat is a no-op) and hold the comment at the threshold."""
    comment = find_comment(session, site.id, external_id)
    existing = _existing(session, comment.id, data.reporter_id)
    if existing is not None:
        return Reported(existing, external_id, _distinct(session, comment.id), False)
    report = Report(
        id="rep_" + secrets.token_hex(10),
        site_id=site.id,
        comment_id=comment.id,
        reporter_id=data.reporter_id,
        reason=data.reason,
        note=data.note,
        weight=reporter_weight(session, site.id, data.reporter_id),
    )
    try:
        with session.begin_nested():
            session.add(report)
    except IntegrityError:
        # The same reader's report raced in from another request: that one stands.
        raced = _existing(session, comment.id, data.reporter_id)
        assert raced is not None
        return Reported(raced, external_id, _distinct(session, comment.id), False)
    events = _maybe_hold(session, site, comment)
    return Reported(report, external_id, _distinct(session, comment.id), True, events)


def settle_reports(session: Session, comment_id: int, status: str) -> int:
    """A moderator decided a comment: its open reports are upheld (rejected) or overruled."""
    outcome = {"rejected": "upheld", "approved": "overruled"}.get(status)
    if outcome is None:
        return 0
    result = session.execute(
        update(Report)
        .where(Report.comment_id == comment_id, Report.outcome.is_(None))
        .values(outcome=outcome, settled_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def reported_view(session: Session, who: Identity, limit: int = 50) -> list[dict[str, Any]]:
    """Comments with unsettled reports, most-reported first: reasons, counts, weight, notes."""
    stmt = (
        select(
            Report.comment_id, func.count(), func.sum(Report.weight), func.max(Report.created_at)
        )
        .join(Comment, Comment.id == Report.comment_id)
        .where(Report.outcome.is_(None), Comment.status.in_(("approved", "held")))
        .group_by(Report.comment_id)
        .order_by(func.sum(Report.weight).desc(), func.max(Report.created_at).desc())
        .limit(limit)
    )
    if who.site_ids is not None:
        stmt = stmt.where(Report.site_id.in_(sorted(who.site_ids)))
    out = []
    for comment_id, count, weight, last in session.execute(stmt).all():
        comment = session.get(Comment, comment_id)
        assert comment is not None
        reports = open_reports(session, comment_id)
        out.append(
            {
                "comment": comment,
                "reports": int(count),
                "weight": round(float(weight or 0), 2),
                "last_report_at": last,
                "reasons": dict(Counter(r.reason for r in reports).most_common()),
                "notes": [r.note for r in reports if r.note][:5],
            }
        )
    return out
