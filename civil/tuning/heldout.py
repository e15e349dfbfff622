"""What a policy does to labelled rows: how many toxic and clean rows it rejects, holds, approves.

The measurement behind the default policy (``civil models decisions``). Each row goes through
what the worker does with a comment (the scorer with language routing, the pipeline's scoring
notes, the policy), as the functional suite's cases do; the rows are scored once and decided by
every policy given, so policies are compared on the same scores. Labels are 0, 1 or None
(unknown for that row); a row is toxic when any known label is 1 and clean when every known
label is 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from civil.decision.pipeline import Job, score
from civil.decision.policy import Decision, Policy, Reason, decide
from civil.scoring import TOXICITY_LABELS, Scorer

Labels = dict[str, Sequence[int | None]]
BATCH = 256
# Reject thresholds the sweep reports precision at.
SWEEP = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)
# The labels the default policy auto-rejects: severe harm, not ordinary incivility.
SEVERE_HARM = ("severe_toxicity", "threat", "identity_attack")


@dataclass(frozen=True)
class Scored:
    """One row as the worker saw it: its scores and the rule hits scoring added."""

    scores: dict[str, float]
    rule_hits: list[Reason]


def score_rows(scorer: Scorer, texts: Sequence[str]) -> list[Scored]:
    """Score every text as a worker would (language routing, windows), in batches."""
    out = []
    for start in range(0, len(texts), BATCH):
        jobs = [Job(0, 0, text, Policy(), [], 0.0) for text in texts[start : start + BATCH]]
        out += [Scored(s, job.rule_hits) for job, s in zip(jobs, score(jobs, scorer), strict=True)]
    return out


def decide_rows(rows: Sequence[Scored], policy: Policy, model: str) -> list[Decision]:
    """Decide scored rows under ``policy`` (its own action for an unsupported language)."""
    decisions = []
    for row in rows:
        hits = [
            replace(hit, action=policy.unsupported_language)
            if hit.code == "language_unsupported"
            else hit
            for hit in row.rule_hits
        ]
        decisions.append(
            decide(policy, toxicity=row.scores, spam=None, rule_hits=hits, model=model)
        )
    return decisions


def _is_toxic(labels: Labels, row: int) -> bool | None:
    known = [column[row] for column in labels.values() if column[row] is not None]
    return any(known) if known else None


def _counts(actions: list[str]) -> dict[str, int]:
    tally = Counter(actions)
    return {
        "n": len(actions),
        "rejected": tally["reject"],
        "held": tally["hold"],
        "approved": tally["approve"],
    }


def outcome_table(decisions: Sequence[Decision], labels: Labels) -> dict[str, Any]:
    """Rejected / held / approved for toxic and clean rows, per positive label, and why."""
    toxic: list[str] = []
    clean: list[str] = []
    per_label: dict[str, list[str]] = {label: [] for label in labels}
    clean_rejects: Counter[str] = Counter()
    for row, decision in enumerate(decisions):
        verdict = _is_toxic(labels, row)
        if verdict is None:
            continue
        (toxic if verdict else clean).append(decision.action)
        for label, column in labels.items():
            if column[row] == 1:
                per_label[label].append(decision.action)
        if not verdict and decision.action == "reject":
            clean_rejects.update(r.code for r in decision.reasons if r.action == "reject")
    return {
        "toxic": _counts(toxic),
        "clean": _counts(clean),
        "positive_for": {label: _counts(actions) for label, actions in per_label.items()},
        "clean_rejected_by": dict(sorted(clean_rejects.items())),
    }


def _precision(rows: Sequence[int], verdict: Any) -> float | None:
    known = [v for v in (verdict(i) for i in rows) if v is not None]
    return round(sum(known) / len(known), 3) if known else None


def reject_sweep(
    rows: Sequence[Scored], labels: Labels, thresholds: Sequence[float] = SWEEP
) -> dict[str, list[dict[str, Any]]]:
    """Per label and threshold: the rows at or above it and how precise a reject there is.

    Precision counts the flagged rows whose answer is known: ``label_precision`` that the
    row is positive for this label, ``severe_precision`` for any severe-harm label
    (severe toxicity, threat, identity attack), ``toxic_precision`` for any label at all.
    None where no flagged row has a known answer.
    """
    scores = [row.scores for row in rows]
    severe = {k: v for k, v in labels.items() if k in SEVERE_HARM}
    out: dict[str, list[dict[str, Any]]] = {}
    for label in TOXICITY_LABELS:
        column = labels.get(label, [None] * len(scores))
        points = []
        for threshold in thresholds:
            above = [i for i, s in enumerate(scores) if s.get(label, 0.0) >= threshold]
            points.append(
                {
                    "threshold": threshold,
                    "flagged": len(above),
                    "label_positive": sum(1 for i in above if column[i] == 1),
                    "label_precision": _precision(above, column.__getitem__),
                    "severe_precision": _precision(above, lambda i: _is_toxic(severe, i)),
                    "toxic_precision": _precision(above, lambda i: _is_toxic(labels, i)),
                }
            )
        out[label] = points
    return out
