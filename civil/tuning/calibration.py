"""Calibration from a site's own moderators: precision and volume against each threshold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.decision.policy import Policy
from civil.errors import InvalidInput
from civil.models import Comment, PolicyVersion, Site
from civil.tuning.labels import CALIBRATED, site_labels
from civil.tuning.versions import change_policy

# Below these a curve is noise: calibration says so instead of proposing anything.
MIN_LABELS = 30
MIN_EACH_CLASS = 5
# A proposal needs this many flagged comments at its threshold to count as measured.
MIN_FLAGGED = 5
GRID = [round(step / 100, 2) for step in range(1, 100)]
DEFAULT_REJECT_PRECISION = 0.97


@dataclass(frozen=True)
class Point:
    threshold: float
    flagged: int
    agreed: int

    @property
    def precision(self) -> float | None:
        return round(self.agreed / self.flagged, 4) if self.flagged else None


def _scores(decision: dict[str, Any] | None) -> dict[str, float | None]:
    """The automatic scores a comment carries (a moderator's decision keeps them)."""
    scores = (decision or {}).get("scores") or {}
    out: dict[str, float | None] = dict((scores.get("toxicity") or {}).items())
    out["spam"] = scores.get("spam")
    return out


def labelled_scores(session: Session, site_id: str) -> dict[str, list[tuple[float, bool]]]:
    """(score, moderators said yes) per calibrated label, for labelled comments with scores."""
    labels = site_labels(session, site_id)
    ids = sorted({comment_id for comment_id, _ in labels})
    decisions: dict[int, dict[str, Any] | None] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Comment.id, Comment.decision).where(Comment.id.in_(ids[start : start + 500]))
        )
        decisions.update({row.id: row.decision for row in rows})
    out: dict[str, list[tuple[float, bool]]] = {label: [] for label in CALIBRATED}
    for (comment_id, label), verdict in labels.items():
        score = _scores(decisions.get(comment_id)).get(label)
        if score is not None and label in out:
            out[label].append((float(score), verdict.positive))
    return out


def curve(pairs: list[tuple[float, bool]]) -> list[Point]:
    """At each threshold of the grid: how many comments it flags, how many moderators agreed."""
    return [
        Point(t, sum(1 for s, _ in pairs if s >= t), sum(1 for s, p in pairs if s >= t and p))
        for t in GRID
    ]


def propose(points: list[Point], target: float) -> float | None:
    """The lowest threshold whose flagged comments reach the target precision (enough of them)."""
    for point in points:
        if point.flagged >= MIN_FLAGGED and (point.precision or 0) >= target:
            return point.threshold
    return None


def _current(policy: Policy, label: str) -> tuple[float | None, float | None]:
    if label == "spam":
        return policy.spam_hold_threshold, policy.spam_threshold
    return policy.hold_thresholds.get(label), policy.thresholds.get(label)


def calibrate(
    session: Session,
    site: Site,
    target: float | None = None,
    reject_target: float = DEFAULT_REJECT_PRECISION,
) -> dict[str, Any]:
    """Per label: the curve, today's thresholds, and proposals for the target precisions."""
    policy = Policy.from_dict(site.policy)
    target = target if target is not None else policy.target_precision
    for name, value in (("target", target), ("reject_target", reject_target)):
        if not 0 < value <= 1:
            raise InvalidInput(f"{name} is a precision: above 0, at most 1", {name: value})
    labels: dict[str, Any] = {}
    for label, pairs in labelled_scores(session, site.id).items():
        positives = sum(1 for _, positive in pairs if positive)
        hold, reject = _current(policy, label)
        entry: dict[str, Any] = {
            "labels": len(pairs),
            "positive": positives,
            "negative": len(pairs) - positives,
            "hold_threshold": hold,
            "reject_threshold": reject,
        }
        enough = (
            len(pairs) >= MIN_LABELS
            and positives >= MIN_EACH_CLASS
            and len(pairs) - positives >= MIN_EACH_CLASS
        )
        if not enough:
            entry["status"] = "insufficient_labels"
            entry["message"] = (
                f"{len(pairs)} labelled comments ({positives} yes, {len(pairs) - positives} no);"
                f" calibration needs {MIN_LABELS}, with at least {MIN_EACH_CLASS} of each"
            )
        else:
            points = curve(pairs)
            hold_at, reject_at = propose(points, target), propose(points, reject_target)
            entry["status"] = "ok"
            entry["curve"] = [
                {"threshold": p.threshold, "flagged": p.flagged, "precision": p.precision}
                for p in points
            ]
            entry["proposed_hold_threshold"] = hold_at
            entry["proposed_reject_threshold"] = (
                max(reject_at, hold_at)
                if reject_at is not None and hold_at is not None
                else reject_at
            )
        labels[label] = entry
    return {
        "site_id": site.id,
        "policy_version": site.policy_version,
        "target_precision": target,
        "reject_target_precision": reject_target,
        "labels": labels,
    }


def proposal_changes(report: dict[str, Any]) -> dict[str, Any]:
    """The policy change a calibration report proposes (empty when it proposes nothing)."""
    hold: dict[str, float] = {}
    reject: dict[str, float] = {}
    changes: dict[str, Any] = {}
    for label, entry in report["labels"].items():
        if entry["status"] != "ok":
            continue
        for proposed, current, into, spam_key in (
            (
                entry["proposed_hold_threshold"],
                entry["hold_threshold"],
                hold,
                "spam_hold_threshold",
            ),
            (
                entry["proposed_reject_threshold"],
                entry["reject_threshold"],
                reject,
                "spam_threshold",
            ),
        ):
            if proposed is None or proposed == current:
                continue
            if label == "spam":
                changes[spam_key] = proposed
            else:
                into[label] = proposed
    if hold:
        changes["hold_thresholds"] = hold
    if reject:
        changes["thresholds"] = reject
    return changes


def apply_proposal(
    session: Session, site: Site, report: dict[str, Any], *, actor: str, why: str | None = None
) -> PolicyVersion | None:
    """Apply a report's proposal as one new policy version (audited); None if nothing changes."""
    changes = proposal_changes(report)
    if not changes:
        return None
    # Threshold maps replace as a whole: keep the labels the proposal does not touch.
    current = dict(site.policy or {})
    for key in ("thresholds", "hold_thresholds"):
        if key in changes:
            changes[key] = {**(current.get(key) or {}), **changes[key]}
    why = why or (
        f"calibration from moderators' labels for precision {report['target_precision']:g}"
    )
    return change_policy(session, site, changes, actor=actor, source="calibration", why=why)
