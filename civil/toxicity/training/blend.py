"""Choose the cascade's blend weight: linear vs MiniLM for the comments it escalates.

``python -m civil.toxicity.training.blend [DATA_DIR] [MODEL_DIR] [TEST_CSV]`` scores the
validation six-label rows and a Jigsaw-format test CSV with both members once, prints the mean
ROC-AUC of the cascade for each weight of the grid, and names the weight best on validation
(the test CSV is reported, never used to choose). Write the chosen weight into
``cascade.json`` under ``blend.linear_weight``; re-tuning the bands rewrites that file, so
choose the weight again after it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.cascade import load_bands
from civil.toxicity.loader import load_scorer
from civil.toxicity.metrics import roc_auc_or_nan
from civil.toxicity.training.data import DEFAULT_OUT, read_jigsaw_csv

GRID = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.7, 1.0)


def _mean_auc(y: np.ndarray, scores: np.ndarray) -> float:
    aucs = [roc_auc_or_nan(y[:, j], scores[:, j]) for j in range(y.shape[1])]
    return float(np.nanmean(aucs))


def _members(model_dir: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    linear, minilm = load_scorer("linear", model_dir), load_scorer("minilm", model_dir)
    detailed = linear.score_batch_detailed(texts)  # type: ignore[attr-defined]
    fast = np.array([[s[k] for k in TOXICITY_LABELS] for s, _ in detailed])
    windows = np.array([w for _, w in detailed])
    slow = np.array([[s[k] for k in TOXICITY_LABELS] for s in minilm.score_batch(texts)])
    return fast, slow, windows


def sweep(model_dir: Path, texts: list[str], y: np.ndarray) -> dict[float, float]:
    """Mean ROC-AUC of the cascade for every weight of ``GRID``."""
    bands = load_bands(model_dir / "cascade.json")
    fast, slow, windows = _members(model_dir, texts)
    escalated = windows > 1
    for j, label in enumerate(TOXICITY_LABELS):
        low, high = bands[label]
        escalated |= (fast[:, j] >= low) & (fast[:, j] <= high)
    out = {}
    for weight in GRID:
        merged = fast.copy()
        merged[escalated] = weight * fast[escalated] + (1 - weight) * slow[escalated]
        out[weight] = round(_mean_auc(y, merged), 5)
    return out


def main(data_dir: Path, model_dir: Path, test_csv: Path) -> dict:
    rows = [json.loads(line) for line in (data_dir / "valid.jsonl").open(encoding="utf-8")]
    six = [r for r in rows if all(r["labels"].get(k) is not None for k in TOXICITY_LABELS)]
    valid_y = np.array([[r["labels"][k] for k in TOXICITY_LABELS] for r in six], dtype=float)
    valid = sweep(model_dir, [r["text"] for r in six], valid_y)
    texts, columns = read_jigsaw_csv(test_csv)
    test_y = np.stack([columns[k] for k in TOXICITY_LABELS], axis=1).astype(float)
    test = sweep(model_dir, texts, test_y)
    best = max(valid, key=lambda w: valid[w])
    return {"valid_rows": len(six), "valid": valid, "test": test, "chosen": best}


if __name__ == "__main__":
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    models = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("models")
    csv_path = Path(sys.argv[3]) if len(sys.argv) > 3 else data / "test_jigsaw6.csv"
    print(json.dumps(main(data, models, csv_path), indent=2))
