"""Choose the cascade's uncertainty bands on validation data and report it on the test rows.

    civil models train-toxicity --model cascade

Writes models/cascade.json: the bands, how many validation comments they escalate, and ROC-AUC
per label of the linear model, the transformer and the cascade on valid and on the held-out
Jigsaw six-label test rows.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from civil.scoring import TOXICITY_LABELS, Scorer
from civil.toxicity.cascade import label_aucs, merged, tune_bands


def read_jsonl(
    path: Path, *, six_label_only: bool = False
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, labels (0/1) and a known-mask (False where the label is null)."""
    texts, y, known = [], [], []
    for line in path.open():
        row = json.loads(line)
        labels = [row["labels"].get(label) for label in TOXICITY_LABELS]
        if six_label_only and any(value is None for value in labels):
            continue
        texts.append(row["text"])
        y.append([value or 0 for value in labels])
        known.append([value is not None for value in labels])
    return texts, np.array(y, dtype=int), np.array(known, dtype=bool)


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
    valid_texts, valid_y, valid_known = read_jsonl(data_dir / "valid.jsonl")
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
    test_texts, test_y, test_known = read_jsonl(data_dir / "test.jsonl", six_label_only=True)
    fast, slow = score_all(linear, test_texts), score_all(minilm, test_texts)
    cascade, hard = merged(fast, slow, bands)
    report["test_jigsaw_six_label"] = {
        "rows": len(test_texts),
        "escalated_fraction": round(float(hard.mean()), 4),
        "linear": _table(test_y, test_known, fast),
        "minilm": _table(test_y, test_known, slow),
        "cascade": _table(test_y, test_known, cascade),
    }
    (model_dir / "cascade.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
