"""The cascade: the linear model settles clear cases, the transformer scores the uncertain band.

A comment goes to the transformer when, for any label, the linear score falls inside that
label's band [low, high]. Bands are chosen on validation data (`tune_bands`) so that the merged
scores lose (almost) no ROC-AUC against the transformer alone while sending as few comments as
possible to it. They ship as JSON beside the models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from civil.scoring import TOXICITY_LABELS

Band = tuple[float, float]


class _Fast(Protocol):
    name: str

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


class _Slow(Protocol):
    name: str

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]: ...


@dataclass
class CascadeScorer:
    """Linear first; the transformer only for comments inside some label's uncertain band."""

    fast: Any
    slow: Any
    bands: dict[str, Band]

    @property
    def name(self) -> str:
        return f"cascade({self.fast.name}+{self.slow.name})"

    def escalate(self, scores: dict[str, float]) -> bool:
        return any(low <= scores[label] <= high for label, (low, high) in self.bands.items())

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]:
        """Scores and windows per text; windows is 0 for texts the linear model settled."""
        fast = self.fast.score_batch(texts)
        hard = [i for i, scores in enumerate(fast) if self.escalate(scores)]
        results: list[tuple[dict[str, float], int]] = [(scores, 0) for scores in fast]
        if hard:
            for index, detailed in zip(
                hard, self.slow.score_batch_detailed([texts[i] for i in hard]), strict=True
            ):
                results[index] = detailed
        return results

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [scores for scores, _ in self.score_batch_detailed(texts)]

    def explain(self, text: str, label: str) -> list[tuple[int, int, float]]:
        """Spans from the linear model's per-token contributions (whichever model scored)."""
        return list(self.fast.explain(text, label))


def load_bands(path: Path) -> dict[str, Band]:
    data = json.loads(Path(path).read_text())
    return {label: (float(low), float(high)) for label, (low, high) in data["bands"].items()}


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC-AUC by ranks (ties averaged); nan when one class is missing."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=float)
    sorted_s = s[order]
    # Average ranks over ties so identical scores count half.
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def merged(
    fast: np.ndarray, slow: np.ndarray, bands: dict[str, Band]
) -> tuple[np.ndarray, np.ndarray]:
    """Cascade scores for a whole set, and which rows were escalated."""
    hard = np.zeros(len(fast), dtype=bool)
    for k, label in enumerate(TOXICITY_LABELS):
        low, high = bands[label]
        hard |= (fast[:, k] >= low) & (fast[:, k] <= high)
    return np.where(hard[:, None], slow, fast), hard


def label_aucs(y: np.ndarray, known: np.ndarray, s: np.ndarray) -> list[float]:
    return [auc(y[known[:, k], k], s[known[:, k], k]) for k in range(len(TOXICITY_LABELS))]


def tune_bands(
    fast: np.ndarray,
    slow: np.ndarray,
    y: np.ndarray,
    known: np.ndarray,
    *,
    max_mean_loss: float = 0.001,
    max_label_loss: float = 0.004,
    grid: int = 24,
) -> tuple[dict[str, Band], dict[str, Any]]:
    """Shrink per-label bands greedily while the cascade's AUC stays near the transformer's."""
    reference = label_aucs(y, known, slow)
    valid = [k for k, a in enumerate(reference) if not np.isnan(a)]
    ref_mean = float(np.mean([reference[k] for k in valid]))
    cuts = [
        np.unique(np.quantile(fast[:, k], np.linspace(0, 1, grid + 1)))
        for k in range(fast.shape[1])
    ]
    lo_idx = [0] * len(TOXICITY_LABELS)
    hi_idx = [len(c) - 1 for c in cuts]

    def bands_of(lo: list[int], hi: list[int]) -> dict[str, Band]:
        return {
            label: (float(cuts[k][lo[k]]), float(cuts[k][hi[k]]))
            for k, label in enumerate(TOXICITY_LABELS)
        }

    def cost(candidate: dict[str, Band]) -> tuple[bool, float, float]:
        scores, hard = merged(fast, slow, candidate)
        aucs = label_aucs(y, known, scores)
        losses = [reference[k] - aucs[k] for k in valid]
        fine = max(losses) <= max_label_loss and float(np.mean(losses)) <= max_mean_loss
        # Escalated fraction first; summed band coverage breaks ties, so shrinking one
        # label's band counts as progress even while another label still covers those rows.
        coverage = sum(
            float(((fast[:, k] >= low) & (fast[:, k] <= high)).mean())
            for k, (low, high) in enumerate(candidate.values())
        )
        return fine, float(hard.mean()), coverage

    current = bands_of(lo_idx, hi_idx)
    best_cost = (1.0, float(len(TOXICITY_LABELS)))
    while True:
        best: tuple[tuple[float, float], list[int], list[int]] | None = None
        for k in range(len(TOXICITY_LABELS)):
            for dlo, dhi in ((1, 0), (0, -1)):
                lo, hi = list(lo_idx), list(hi_idx)
                lo[k] += dlo
                hi[k] += dhi
                # lo == hi + 1 is the empty band: this label never escalates.
                if lo[k] > hi[k] + 1 or lo[k] >= len(cuts[k]) or hi[k] < 0:
                    continue
                fine, new_rate, coverage = cost(bands_of(lo, hi))
                if (
                    fine
                    and (new_rate, coverage) < best_cost
                    and (best is None or (new_rate, coverage) < best[0])
                ):
                    best = ((new_rate, coverage), lo, hi)
        if best is None:
            break
        best_cost, lo_idx, hi_idx = best
        current = bands_of(lo_idx, hi_idx)
    scores, hard = merged(fast, slow, current)
    report = {
        "escalated_fraction": float(hard.mean()),
        "transformer_auc": dict(zip(TOXICITY_LABELS, reference, strict=True)),
        "cascade_auc": dict(zip(TOXICITY_LABELS, label_aucs(y, known, scores), strict=True)),
        "linear_auc": dict(zip(TOXICITY_LABELS, label_aucs(y, known, fast), strict=True)),
        "transformer_mean": ref_mean,
    }
    return current, report
