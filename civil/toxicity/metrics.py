"""ROC-AUC for the toxicity models: scikit-learn's, the one every evaluation uses.

Training and evaluation import this; the scorers do not (scikit-learn is in the ``train``
extra). A label whose rows hold one class only has no AUC: ``roc_auc`` says None, and the
callers that keep arrays of AUCs use ``roc_auc_or_nan``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from civil.extras import MissingExtra
from civil.scoring import TOXICITY_LABELS
from civil.toxicity.dataset import Dataset

try:
    from sklearn.metrics import roc_auc_score
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingExtra("train", "sklearn") from exc


def roc_auc(
    y_true: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> float | None:
    """ROC-AUC (tied scores count half); None when ``y_true`` holds only one class.

    Labels ``>= 0.5`` are positives.
    """
    y = np.asarray(y_true, dtype=np.float64) >= 0.5
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, np.asarray(scores, dtype=np.float64)))


def roc_auc_or_nan(
    y_true: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> float:
    """``roc_auc``, NaN instead of None (for arrays of AUCs and nan-aware means)."""
    auc = roc_auc(y_true, scores)
    return float("nan") if auc is None else auc


def label_aucs(labels: np.ndarray, scores: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per-label ROC-AUC over the rows that know the label (NaN = unknown)."""
    result: dict[str, dict[str, Any]] = {}
    for column, label in enumerate(TOXICITY_LABELS):
        known = ~np.isnan(labels[:, column])
        y = labels[known, column]
        result[label] = {
            "auc": roc_auc(y, scores[known, column]),
            "rows": int(known.sum()),
            "positives": int((y >= 0.5).sum()),
        }
    return result


def mean_auc(aucs: dict[str, dict[str, Any]]) -> float | None:
    """Mean of the labels' AUCs that exist; None when none does."""
    values = [entry["auc"] for entry in aucs.values() if entry["auc"] is not None]
    return float(np.mean(values)) if values else None


def evaluation_report(data: Dataset, scores: np.ndarray) -> dict[str, Any]:
    """AUCs on all rows, on the rows that know all six labels, and toxicity AUC per source."""
    report: dict[str, Any] = {"rows": len(data)}
    everything = label_aucs(data.labels, scores)
    report["all_rows"] = {"mean_auc": mean_auc(everything), "labels": everything}
    full = data.known.all(axis=1)
    if full.any():
        six = label_aucs(data.labels[full], scores[full])
        report["six_label_rows"] = {"mean_auc": mean_auc(six), "labels": six}
    per_source: dict[str, Any] = {}
    sources = np.asarray(data.sources, dtype=object)
    for source in sorted(set(data.sources)):
        rows = sources == source
        known = rows & ~np.isnan(data.labels[:, 0])
        per_source[source] = {
            "rows": int(rows.sum()),
            "toxicity_auc": roc_auc(data.labels[known, 0], scores[known, 0]),
        }
    report["toxicity_by_source"] = per_source
    return report
