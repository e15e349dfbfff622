"""Shadow candidates: a policy change or model run beside the live one, reported, promoted."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.decision.policy import SEVERITY
from civil.errors import InvalidInput, NotFound
from civil.models import AuditEntry, Comment, ShadowDecision, Site, utcnow
from civil.moderation.queue import auto_part
from civil.schema import rfc3339
from civil.tuning.versions import change_policy, validate_policy

SAMPLES_PER_CELL = 3


def attach_candidate(
    session: Session,
    site: Site,
    *,
    policy_changes: dict[str, Any] | None,
    model: str | None,
    actor: str,
    why: str | None = None,
) -> dict[str, Any]:
    """Run a candidate beside the live policy from now on (replacing any earlier candidate).

    ``policy_changes`` merge over the live policy as an update would; ``model`` names another
    toxicity model (any spec CIVIL_TOXICITY_MODEL takes). Audited.
    """
    if not policy_changes and not model:
        raise InvalidInput("a candidate needs a policy change, a model, or both", {})
    merged = {**(site.policy or {}), **(policy_changes or {})}
    candidate = {
        "id": "cand_" + secrets.token_hex(6),
        "policy": validate_policy(merged),
        "changes": policy_changes or {},
        "model": model,
        "base_version": site.policy_version,
        "actor": actor,
        "why": why,
        "attached_at": rfc3339(utcnow()),
    }
    site.candidate = candidate
    _audit(session, site, actor, "candidate_attach", why, {"candidate": candidate["id"]})
    return candidate


def detach_candidate(session: Session, site: Site, *, actor: str) -> None:
    """Stop running the site's candidate (its shadow decisions stay for reports)."""
    candidate = _candidate(site)
    site.candidate = None
    _audit(session, site, actor, "candidate_detach", None, {"candidate": candidate["id"]})


def promote_candidate(
    session: Session, site: Site, *, actor: str, why: str | None = None
) -> dict[str, Any]:
    """Make the candidate's policy the live one: one new policy version, audited.

    A candidate model becomes the site's own (``toxicity_model`` in the same version);
    other sites keep the deployment's model.
    """
    candidate = _candidate(site)
    why = why or f"promoted shadow candidate {candidate['id']}"
    changes = dict(candidate["policy"])
    if candidate.get("model"):
        changes["toxicity_model"] = candidate["model"]
    version = change_policy(session, site, changes, actor=actor, source="promote", why=why)
    site.candidate = None
    _audit(session, site, actor, "candidate_promote", why, {"candidate": candidate["id"]})
    return {
        "site_id": site.id,
        "candidate_id": candidate["id"],
        "policy_version": site.policy_version,
        "changed": version is not None,
        "diff": version.diff if version is not None else {},
        "model": candidate.get("model"),
        "model_note": (
            f"this site's comments are now scored by {candidate['model']}"
            if candidate.get("model")
            else None
        ),
    }


def _summary(candidate: dict[str, Any] | None) -> dict[str, Any] | None:
    """The candidate as reports show it: what it changes, not the whole policy it makes."""
    if not candidate:
        return None
    return {k: v for k, v in candidate.items() if k != "policy"}


def _candidate(site: Site) -> dict[str, Any]:
    if not site.candidate:
        raise NotFound("this site runs no shadow candidate", {"site_id": site.id})
    return site.candidate


def _audit(
    session: Session, site: Site, actor: str, action: str, why: str | None, after: dict[str, Any]
) -> None:
    session.add(
        AuditEntry(site_id=site.id, actor=actor, action=action, note=why, before={}, after=after)
    )


def _driving(decision: dict[str, Any]) -> list[dict[str, Any]]:
    """The reasons that asked for the decision's action."""
    action = decision.get("action")
    return [r for r in decision.get("reasons") or [] if r.get("action") == action]


VERDICT_OF = {
    "approve": "approve",
    "not_spam": "approve",
    "trust": "approve",
    "reject": "reject",
    "spam": "reject",
    "ban": "reject",
}


def moderator_verdict(session: Session, comment: Comment) -> str | None:
    """What a moderator made of the comment: approve | reject, or None if none reviewed it.

    The audit log counts as well as the decision: approving an approved comment changes no
    decision, yet it is a moderator agreeing with it.
    """
    decision = comment.decision or {}
    if decision.get("decided_by") == "moderator":
        return str(decision.get("action"))
    action = session.scalar(
        select(AuditEntry.action)
        .where(
            AuditEntry.comment_id == comment.id,
            AuditEntry.site_id == comment.site_id,
            AuditEntry.action.in_(tuple(VERDICT_OF)),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    return VERDICT_OF.get(action) if action else None


def shadow_report(
    session: Session,
    site: Site,
    *,
    since: datetime,
    until: datetime | None = None,
    candidate_id: str | None = None,
) -> dict[str, Any]:
    """How the candidate's decisions differ from the live ones over a window.

    Each changed cell (live -> candidate) counts the reasons and labels behind the change
    (the candidate's for a stricter one, the live decision's for a laxer one), shows sample
    comments, and what moderators later did with those comments.
    """
    candidate_id = candidate_id or (site.candidate or {}).get("id")
    if candidate_id is None:
        raise NotFound("this site runs no shadow candidate; pass a candidate id", {})
    until = until or utcnow()
    rows = session.execute(
        select(ShadowDecision, Comment)
        .join(Comment, Comment.id == ShadowDecision.comment_id)
        .where(
            ShadowDecision.site_id == site.id,
            ShadowDecision.candidate_id == candidate_id,
            ShadowDecision.created_at >= since,
            ShadowDecision.created_at <= until,
        )
        .order_by(ShadowDecision.id)
    ).all()
    tally = Tally(session)
    for shadow, comment in rows:
        tally.add(comment, shadow.live_action, shadow.shadow_action, shadow.decision)
    return {
        "site_id": site.id,
        "candidate_id": candidate_id,
        "candidate": _summary(site.candidate)
        if (site.candidate or {}).get("id") == candidate_id
        else None,
        "since": rfc3339(since),
        "until": rfc3339(until),
        **tally.summary(),
    }


class Tally:
    """Decisions compared cell by cell (live -> other), as the shadow and re-score reports show."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cells: dict[tuple[str, str], dict[str, Any]] = {}
        self.unchanged: Counter[str] = Counter()
        self.decisions = 0

    def add(self, comment: Comment, live: str, other: str, decision: dict[str, Any]) -> None:
        """Count one comment: its live action, the other action and the other's decision."""
        self.decisions += 1
        if live == other:
            self.unchanged[live] += 1
            return
        cell = self.cells.setdefault(
            (live, other),
            {
                "from": live,
                "to": other,
                "count": 0,
                "by_reason": Counter(),
                "by_label": Counter(),
                "moderators": Counter(),
                "samples": [],
            },
        )
        cell["count"] += 1
        stricter = SEVERITY[other] > SEVERITY[live]
        side = decision if stricter else auto_part(comment.decision)
        for reason in _driving(side):
            cell["by_reason"][reason.get("code")] += 1
            if reason.get("label"):
                cell["by_label"][reason["label"]] += 1
        verdict = moderator_verdict(self.session, comment)
        cell["moderators"][_agreement(verdict, live, other)] += 1
        if len(cell["samples"]) < SAMPLES_PER_CELL:
            cell["samples"].append(
                {
                    "id": comment.id,
                    "comment_id": comment.external_id,
                    "excerpt": comment.content[:200],
                }
            )

    def summary(self) -> dict[str, Any]:
        changes = sorted(self.cells.values(), key=lambda c: (-c["count"], c["from"], c["to"]))
        out = []
        for cell in changes:
            out.append(
                {
                    **cell,
                    **{
                        k: dict(cell[k].most_common())
                        for k in ("by_reason", "by_label", "moderators")
                    },
                }
            )
        return {
            "decisions": self.decisions,
            "changed": sum(c["count"] for c in out),
            "unchanged": dict(self.unchanged),
            "changes": out,
        }


def _agreement(verdict: str | None, live: str, candidate: str) -> str:
    """Whom a moderator's later verdict sides with: a flag (hold/reject) matches a rejection."""
    if verdict not in ("approve", "reject"):
        return "not_reviewed"
    flagged = verdict == "reject"
    live_right, candidate_right = (
        (live != "approve") == flagged,
        (candidate != "approve") == flagged,
    )
    if live_right == candidate_right:
        return "both" if live_right else "neither"
    return "candidate" if candidate_right else "live"
