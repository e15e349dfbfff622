"""Choose the cascade's uncertainty bands on validation data and report it on the test rows.

    civil models train-toxicity --model cascade

Writes models/cascade.json: the bands, how many validation comments they escalate, and ROC-AUC
per label of the linear model, the transformer and the cascade on valid and on the held-out
Jigsaw six-label test rows.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from civil.scoring import TOXICITY_LABELS, Scorer
from civil.toxicity.cascade import Band
from civil.toxicity.dataset import read_dataset
from civil.toxicity.metrics import roc_auc_or_nan

log = logging.getLogger(__name__)


def read_split(
    path: Path, *, six_label_only: bool = False
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, labels (0/1, 0 where unknown) and a known-mask of a JSONL split."""
    data = read_dataset(path)
    keep = data.known.all(axis=1) if six_label_only else np.ones(len(data), dtype=bool)
    texts = [data.texts[i] for i in np.flatnonzero(keep)]
    y = np.nan_to_num(data.labels[keep], nan=0.0).astype(int)
    return texts, y, data.known[keep]


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
    """Per-label ROC-AUC over the rows where ``known``; NaN for a label with one class."""
    return [
        roc_auc_or_nan(y[known[:, k], k], s[known[:, k], k]) for k in range(len(TOXICITY_LABELS))
    ]


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


def score_all(scorer: Scorer, texts: list[str], batch: int = 64) -> np.ndarray:
    out = []
    for start in range(0, len(texts), batch):
        for scores in scorer.score_batch(texts[start : start + batch]):
            out.append([scores[label] for label in TOXICITY_LABELS])
    return np.array(out, dtype=float)


def _table(y: np.ndarray, known: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    aucs = label_aucs(y, known, scores)
    table = {label: round(a, 4) for label, a in zip(TOXICITY_LABELS, aucs, strict=True)}
    table["mean"] = round(float(np.nanmean(aucs)), 4)
    return table


def run(data_dir: Path, model_dir: Path, linear: Scorer, minilm: Scorer) -> dict[str, Any]:
    """Score valid/test with both models, tune the bands, write cascade.json; return the report."""
    report: dict[str, Any] = {"created": time.strftime("%Y-%m-%d"), "data": str(data_dir)}
    valid_texts, valid_y, valid_known = read_split(data_dir / "valid.jsonl")
    started = time.time()
    fast, slow = score_all(linear, valid_texts), score_all(minilm, valid_texts)
    bands, tuning = tune_bands(fast, slow, valid_y, valid_known)
    report["tuning_seconds"] = round(time.time() - started, 1)
    report["bands"] = {label: list(band) for label, band in bands.items()}
    report["valid"] = {
        "rows": len(valid_texts),
        "escalated_fraction": round(tuning["escalated_fraction"], 4),
        "linear": _table(valid_y, valid_known, fast),
        "minilm": _table(valid_y, valid_known, slow),
        "cascade": _table(valid_y, valid_known, merged(fast, slow, bands)[0]),
    }
    test_texts, test_y, test_known = read_split(data_dir / "test.jsonl", six_label_only=True)
    fast, slow = score_all(linear, test_texts), score_all(minilm, test_texts)
    cascade, hard = merged(fast, slow, bands)
    report["test_jigsaw_six_label"] = {
        "rows": len(test_texts),
        "escalated_fraction": round(float(hard.mean()), 4),
        "linear": _table(test_y, test_known, fast),
        "minilm": _table(test_y, test_known, slow),
        "cascade": _table(test_y, test_known, cascade),
    }
    path = model_dir / "cascade.json"
    report.update(carried_choices(path))
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report


# Chosen after the bands, by their own studies (civil/toxicity/training/blend.py and
# long_comments.py): the escalated comments' blend weight and the long-comment rule.
LATER_CHOICES = ("blend", "long")


def carried_choices(path: Path) -> dict[str, Any]:
    """The later choices of the cascade file being replaced, kept rather than silently dropped.

    Without them the cascade would fall back to MiniLM's scores alone for escalated comments
    and the max rule for long ones, losing ranking without a word. They were chosen for the old
    bands, so they are kept with a warning to choose them again.
    """
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    kept = {key: previous[key] for key in LATER_CHOICES if key in previous}
    if kept:
        log.warning(
            "kept %s from the previous %s; they were chosen for its bands: choose them again "
            "(python -m civil.toxicity.training.blend, python -m "
            "civil.toxicity.training.long_comments)",
            ", ".join(kept),
            path.name,
        )
    return kept
