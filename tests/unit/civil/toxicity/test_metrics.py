"""The one ROC-AUC every toxicity evaluation uses (scikit-learn's), and its per-label tables."""

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.dataset import Dataset
from civil.toxicity.metrics import (
    evaluation_report,
    label_aucs,
    mean_auc,
    roc_auc,
    roc_auc_or_nan,
)
from civil.toxicity.training.tune import label_aucs as band_aucs


def pairwise_auc(y, scores):
    """The definition: the share of (positive, negative) pairs ranked right, ties half."""
    positives, negatives = scores[y == 1], scores[y == 0]
    pairs = [(p > n) + 0.5 * (p == n) for p, n in itertools.product(positives, negatives)]
    return float(np.mean(pairs))


def test_roc_auc_matches_the_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) + 0.3 * y, 1)  # rounding makes many ties
    assert roc_auc(y, scores) == pytest.approx(pairwise_auc(y, scores), abs=1e-12)
    assert roc_auc_or_nan(y, scores) == roc_auc(y, scores)


def test_one_class_has_no_auc():
    assert roc_auc(np.ones(5), np.arange(5.0)) is None
    assert roc_auc([0, 0], [0.2, 0.3]) is None
    assert roc_auc([], []) is None
    assert math.isnan(roc_auc_or_nan([1, 1], [0.2, 0.3]))


def test_label_tables_skip_unknown_rows_and_one_class_labels():
    labels = np.full((6, len(TOXICITY_LABELS)), np.nan, dtype=np.float32)
    labels[:, 0] = [0, 1, 0, 1, 0, 1]
    labels[:4, 1] = [0, 0, 0, 0]  # known on four rows, never positive: no AUC
    scores = np.tile(np.linspace(0.0, 1.0, 6)[:, None], (1, len(TOXICITY_LABELS)))
    table = label_aucs(labels, scores)
    assert table["toxicity"] == {
        "auc": pytest.approx(pairwise_auc(labels[:, 0], scores[:, 0])),
        "rows": 6,
        "positives": 3,
    }
    assert table["severe_toxicity"] == {"auc": None, "rows": 4, "positives": 0}
    assert mean_auc(table) == table["toxicity"]["auc"]
    assert mean_auc({"x": {"auc": None}}) is None

    # The cascade tuning's list form: NaN where a label has no AUC.
    aucs = band_aucs(np.nan_to_num(labels).astype(int), ~np.isnan(labels), scores)
    assert aucs[0] == table["toxicity"]["auc"]
    assert all(math.isnan(value) for value in aucs[1:])


def test_evaluation_report_splits_six_label_rows_and_sources():
    labels = np.array(
        [[1, 1, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 0, 1], [0, 1, 0, 1, 1, 0]],
        dtype=np.float32,
    )
    partial = np.full((2, 6), np.nan, dtype=np.float32)
    partial[:, 0] = [1, 0]
    data = Dataset(
        ["a", "b", "c", "d", "e", "f"],
        np.concatenate([labels, partial]),
        ["jigsaw"] * 4 + ["olid"] * 2,
        ["en"] * 6,
    )
    scores = np.linspace(0.1, 0.9, 36).reshape(6, 6)
    report = evaluation_report(data, scores)
    assert report["rows"] == 6
    assert report["all_rows"]["labels"]["toxicity"]["rows"] == 6
    assert report["six_label_rows"]["labels"]["toxicity"]["rows"] == 4
    assert report["toxicity_by_source"]["olid"] == {"rows": 2, "toxicity_auc": 0.0}


def test_without_the_train_extra_the_import_names_it():
    # A fresh interpreter where scikit-learn cannot be imported (a None entry blocks it).
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n"
        "    import civil.toxicity.metrics\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert out.startswith("MissingExtra sklearn is not installed")
    assert "'train' extra" in out
