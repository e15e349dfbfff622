"""Retrain only the linear model's ``threat`` column with extra threat data.

The six-label Jigsaw rows hold few threats (5 in the held-out test), so plain threats ("I know
where you live and I will find you.") scored near 0. This adds the Latent Hatred / Implicit
Hate corpus (``english-implicit-hate``, CC BY 4.0): stage-2 posts typed ``threatening`` are
threat positives, ``incitement`` (calls to act against a group) positives at half weight, the
other stage-2 types and stage-1 ``not_hate`` posts threat negatives; ``explicit_hate`` without a
type stays unknown. Toxic-spans ``Threat`` spans are already threat labels in the prepared
splits. Implicit-hate posts are deduplicated against the prepared splits and split 80/10/10 by
a hash of the text, so its test tenth is never trained on.

The other five columns are kept exactly; the threat column is refitted (same choice as the full
trainer: C=1, balanced classes), Platt-calibrated on validation and written back.

``python -m civil.toxicity.training.threat [DATA_DIR] [MODEL_DIR]``
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from civil.toxicity.linear import Featurizer, LinearToxicityModel
from civil.toxicity.metrics import roc_auc_or_nan
from civil.toxicity.training.data import DEFAULT_OUT, DEFAULT_ROOT, Row, dedup_key, empty_labels
from civil.toxicity.training.linear import (
    DEFAULT_DIR,
    LABELS,
    MIN_DF,
    Split,
    apply_idf,
    count_matrix,
    document_frequency,
    inverse_document_frequency,
    load_split,
    split_from_rows,
)

log = logging.getLogger("civil.toxicity.training.threat")

THREAT = LABELS.index("threat")
SOURCE = "implicit-hate"
FOLDER = "english-implicit-hate"
INCITEMENT_WEIGHT = 0.5
# Implicit-hate posts are tweets about groups, far from news comments: down-weighted.
IMPLICIT_WEIGHT = 0.3
# Known non-toxic rows of any source that do not label threat count as threat negatives.
IMPLIED_WEIGHT = 0.3
SOURCE_WEIGHT = {"jigsaw-6label": 3.0}
PROBES = (
    "I know where you live and I will find you.",
    "I will hurt you badly.",
    "You will regret this, I promise you will bleed.",
    "Someone should put a bullet in that judge.",
    "Thank you for the careful reporting on the council budget.",
    "I will find the time to read the whole report tonight.",
)


def _bucket(text: str) -> str:
    digit = int(hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:8], 16) % 10
    return "test" if digit == 0 else "valid" if digit == 1 else "train"


def implicit_hate_rows(root: Path) -> dict[str, tuple[Row, float]]:
    """Posts of the Implicit Hate corpus with a threat label (and a training weight), by key."""
    folder = root / FOLDER
    prefix = "implicit-hate-corpus__implicit_hate_v1_"
    rows: dict[str, tuple[Row, float]] = {}
    with (folder / f"{prefix}stg1_posts.tsv").open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle, delimiter="\t"):
            text = (record.get("post") or "").strip()
            if text and record.get("class") == "not_hate":
                rows[dedup_key(text)] = (Row(text, empty_labels(threat=0), SOURCE), 1.0)
    with (folder / f"{prefix}stg2_posts.tsv").open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle, delimiter="\t"):
            text = (record.get("post") or "").strip()
            kind = record.get("implicit_class") or ""
            if not text or not kind:
                continue
            if kind in ("threatening", "incitement"):
                labels = empty_labels(threat=1, toxicity=1)
                weight = 1.0 if kind == "threatening" else INCITEMENT_WEIGHT
            else:
                labels, weight = empty_labels(threat=0), 1.0
            rows[dedup_key(text)] = (Row(text, labels, SOURCE), weight)
    return rows


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# Threat-free sentences of toxic-spans posts added as threat negatives, per positive sentence.
SPAN_NEGATIVES_PER_POSITIVE = 4


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence(s) of ``text`` that overlap [start, end)."""
    parts = [m for m in _SENTENCE.finditer(text) if m.start() < end and m.end() > start]
    if not parts:
        return text[start:end].strip()
    return text[parts[0].start() : parts[-1].end()].strip()


def threat_span_rows(root: Path) -> list[Row]:
    """Sentences of toxic-spans posts as threat examples (see ``threat_span_examples``)."""
    return [row for row, _ in threat_span_examples(root)]


def threat_span_examples(root: Path) -> list[tuple[Row, str]]:
    """Sentences of toxic-spans posts as threat examples, each with its post's ``comment_id``.

    The threat is read at sentence level.

    A post's typed spans say where its threat is: the sentence holding a ``Threat`` span that
    at least two of the post's annotators marked (overlapping) is a threat positive
    (``threat=1, toxicity=1``), short and to the point, where the whole post mixes the threat
    with other talk. Sentences of posts no annotator marked a threat in are threat negatives
    (the other labels unknown), ``SPAN_NEGATIVES_PER_POSITIVE`` per positive, picked by hash.
    """
    folder = root / "toxic-spans"
    with (folder / "comments.csv").open(newline="", encoding="utf-8") as handle:
        texts = {r["comment_id"]: r["comment_text"] for r in csv.DictReader(handle)}
    with (folder / "annotations.csv").open(newline="", encoding="utf-8") as handle:
        owner = {r["annotation"]: r["comment_id"] for r in csv.DictReader(handle)}
    threats: dict[str, list[tuple[int, int]]] = {}
    typed: set[str] = set()
    with (folder / "spans.csv").open(newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            cid = owner.get(r["annotation"])
            if cid is None or cid not in texts:
                continue
            typed.add(cid)
            if r["type"] == "Threat":
                threats.setdefault(cid, []).append((int(r["start"]), int(r["end"])))
    positives: dict[str, tuple[Row, str]] = {}
    for cid, spans in threats.items():
        text = texts[cid]
        for i, (start, end) in enumerate(spans):
            agreed = any(s < end and e > start for j, (s, e) in enumerate(spans) if j != i)
            sentence = _sentence_around(text, start, end)
            if agreed and 8 <= len(sentence) <= 400:
                row = Row(sentence, empty_labels(threat=1, toxicity=1), "toxic-spans-threat")
                positives[dedup_key(sentence)] = (row, cid)
    negatives: dict[str, tuple[Row, str]] = {}
    for cid in sorted(typed - set(threats)):
        for match in _SENTENCE.finditer(texts[cid]):
            sentence = match.group().strip()
            if 20 <= len(sentence) <= 400:
                row = Row(sentence, empty_labels(threat=0), "toxic-spans-threat")
                negatives[dedup_key(sentence)] = (row, cid)
    wanted = SPAN_NEGATIVES_PER_POSITIVE * len(positives)
    picked = sorted(k for k in negatives if k not in positives)[:wanted]
    return list(positives.values()) + [negatives[k] for k in picked]


def _threat_rows(split: Split) -> np.ndarray:
    return np.flatnonzero(~np.isnan(split.y[:, THREAT]))


def _aucs(model: LinearToxicityModel, splits: dict[str, Split]) -> dict[str, float]:
    out = {}
    for name, split in splits.items():
        rows = _threat_rows(split)
        if len(rows):
            scores = model.logits([split.texts[i] for i in rows])[:, THREAT]
            out[name] = round(roc_auc_or_nan(split.y[rows, THREAT], scores), 4)
    return out


def main(
    data_dir: Path = DEFAULT_OUT,
    model_dir: Path = DEFAULT_DIR,
    root: Path = DEFAULT_ROOT,
    implicit_weight: float = IMPLICIT_WEIGHT,
    implied_weight: float = IMPLIED_WEIGHT,
    save: bool = True,
    span_sentences: bool = False,
) -> dict:
    """Refit the threat column of the model in ``model_dir``; write it back when ``save``."""
    began = time.time()
    base = LinearToxicityModel.load(model_dir)
    splits = {name: load_split(data_dir / f"{name}.jsonl") for name in ("train", "valid", "test")}
    seen = {dedup_key(row.text) for split in splits.values() for row in split.rows}
    extra: dict[str, list[tuple[Row, float]]] = {"train": [], "valid": [], "test": []}
    for key, (row, weight) in implicit_hate_rows(root).items():
        if key not in seen:
            extra[_bucket(key)].append((row, weight))
    if span_sentences:
        for row in threat_span_rows(root):
            key = dedup_key(row.text)
            if key not in seen:
                # Hash order puts a tenth in valid (for the calibration), the rest in train.
                where = "valid" if _bucket(key) == "valid" else "train"
                extra[where].append((row, 1.0 / max(implicit_weight, 1e-6)))
    ih = {name: split_from_rows([r for r, _ in rows]) for name, rows in extra.items()}
    test_sets = {
        "jigsaw6_test": _subset(splits["test"], splits["test"].six),
        "all_sources_test_threat_known": splits["test"],
        "implicit_hate_test": ih["test"],
    }
    before = _aucs(base, test_sets)
    log.info("before: %s", before)

    featurizer = Featurizer(base.config)
    train_counts = count_matrix(featurizer, splits["train"].texts + ih["train"].texts)
    df = document_frequency(train_counts)
    idf = inverse_document_frequency(df, train_counts.shape[0])
    keep = (df >= MIN_DF).astype(np.float32)
    n_main = len(splits["train"].texts)
    main_y = splits["train"].y
    implied = np.isnan(main_y[:, THREAT]) & (main_y[:, 0] == 0)
    y_all = np.concatenate([np.where(implied, 0.0, main_y[:, THREAT]), ih["train"].y[:, THREAT]])
    weights = np.concatenate(
        [
            np.where(
                implied,
                implied_weight,
                [SOURCE_WEIGHT.get(row.source, 1.0) for row in splits["train"].rows],
            ),
            [w * implicit_weight for _, w in extra["train"]],
        ]
    )
    if implied_weight <= 0:
        y_all[: len(implied)][implied] = np.nan
    rows = np.flatnonzero(~np.isnan(y_all))
    X = apply_idf(train_counts[rows], idf)
    log.info(
        "fitting threat on %d rows (%d positives; %d implicit-hate), features %.0fs",
        len(rows),
        int(np.nansum(y_all[rows])),
        int((rows >= n_main).sum()),
        time.time() - began,
    )
    model = LogisticRegression(
        C=1.0, class_weight="balanced", solver="liblinear", dual=True, max_iter=1000, tol=1e-4
    )
    model.fit(X, y_all[rows].astype(int), sample_weight=weights[rows])
    coef, intercept = model.coef_[0], float(model.intercept_[0])

    valid_texts = splits["valid"].texts + ih["valid"].texts
    y_valid = np.concatenate([splits["valid"].y[:, THREAT], ih["valid"].y[:, THREAT]])
    vrows = np.flatnonzero(~np.isnan(y_valid))
    Xv = apply_idf(count_matrix(featurizer, [valid_texts[i] for i in vrows]), idf)
    raw = Xv @ coef + intercept
    platt = LogisticRegression(C=100.0).fit(raw[:, None], y_valid[vrows].astype(int))
    scale, shift = float(platt.coef_[0, 0]), float(platt.intercept_[0])

    weights_table = base.table[:-1, : len(base.labels)].copy()
    weights_table[:, THREAT] = scale * coef * idf * keep
    intercepts = base.intercepts.copy()
    intercepts[THREAT] = scale * intercept + shift
    retrained = LinearToxicityModel(base.config, weights_table, intercepts, base.labels, base.meta)
    after = _aucs(retrained, test_sets)
    log.info("after: %s", after)
    probes = {
        text: [
            round(float(base.score_batch([text])[0]["threat"]), 3),
            round(float(retrained.score_batch([text])[0]["threat"]), 3),
        ]
        for text in PROBES
    }
    report = {
        "threat_auc_before": before,
        "threat_auc_after": after,
        "probes_threat_before_after": probes,
        "implicit_hate_rows": {name: len(rows) for name, rows in extra.items()},
        "implicit_hate_test_positives": int(np.nansum(ih["test"].y[:, THREAT])),
        "threat_training_rows": len(rows),
        "seconds": round(time.time() - began),
    }
    if not save:
        return report
    retrained.save(model_dir, {"threat_retrained": report})
    metrics_path = Path(model_dir) / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    metrics["threat_retrained"] = report
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    return report


def _subset(split: Split, mask: np.ndarray) -> Split:
    index = np.flatnonzero(mask)
    return Split(
        [split.rows[i] for i in index],
        [split.texts[i] for i in index],
        split.y[index],
        split.jigsaw[index],
        split.six[index],
        sparse.csr_matrix((0, 0)),
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT,
        Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_DIR,
    )
    print(json.dumps(out, indent=2))
