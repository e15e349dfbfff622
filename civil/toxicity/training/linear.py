"""Train, tune and evaluate the linear toxicity model; write it to ``models/linear``.

Usage (after ``python -m civil.toxicity.training.data`` wrote the splits)::

    python -m civil.toxicity.training.linear [DATA_DIR] [OUT_DIR]

How the model is built:

- Each label's logistic regression sees only the training rows where that label is known
  (masking). Jigsaw and Wikipedia rows weigh ``SOURCE_WEIGHT`` times more than tweets and
  Civil Comments, as they match the evaluation domain.
- Sub-labels are stacked on toxicity: a sub-label's logit is its own model's plus ``alpha``
  times the toxicity model's, which folds into the same linear weights. Optionally a sub-label
  also learns from *implied negatives*: rows known to be non-toxic but silent about the
  sub-label count as (down-weighted) negatives, since in the Jigsaw six-label rows a non-toxic
  row is never severe, a threat or an identity attack and only 0.3% are obscene or insults.
  ``alpha``, implied negatives and the toxicity model's ``C`` are chosen per label on the
  validation split's Jigsaw rows.
- Probabilities are Platt-calibrated on validation rows (the training mixture is 44% toxic);
  see ``calibrate``.
- Bias: the same recipe is trained again with identity-term balancing (synthetic non-toxic
  sentences naming identities, weighted ``SYNTHETIC_WEIGHT``, and non-toxic training rows that
  mention identity terms, weighted ``IDENTITY_UPWEIGHT``); both are measured on identity
  templates (worded unlike the training ones) and the
  wikipedia-bias sets, and the balanced one ships unless it loses more than ``MAX_AUC_LOSS``
  validation AUC.
- Buckets seen in fewer than ``MIN_DF`` training texts get weight 0 (keeps the file small).

The held-out Jigsaw test rows are only scored, with the model as saved. Needs scikit-learn and
scipy (training only).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from civil.scoring import TOXICITY_LABELS
from civil.textnorm import normalize_text
from civil.toxicity.linear import (
    DEFAULT_DIR,
    FeatureConfig,
    Featurizer,
    LinearToxicityModel,
    measure_speed,
)
from civil.toxicity.metrics import roc_auc_or_nan
from civil.toxicity.training import evaluate
from civil.toxicity.training.data import (
    DEFAULT_OUT,
    DEFAULT_ROOT,
    JIGSAW6,
    JIGSAW_BINARY,
    Row,
    load_bias_sets,
    read_jsonl,
)

log = logging.getLogger("civil.toxicity.training.linear")

LABELS = TOXICITY_LABELS
TOXICITY = 0
JIGSAW_SOURCES = (JIGSAW6, JIGSAW_BINARY)
SOURCE_WEIGHT = {JIGSAW6: 3.0, JIGSAW_BINARY: 3.0, "wikipedia-context": 3.0}
TOXICITY_C_GRID = (0.5, 1.0)
SUBLABEL_C = 1.0
SUBLABEL_CLASS_WEIGHT = "balanced"
ALPHA_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
IMPLIED_WEIGHT = 0.3
MIN_DF = 2
IDENTITY_UPWEIGHT = 5.0
SYNTHETIC_WEIGHT = 10.0
SYNTHETIC_SOURCE = "identity-templates"
MAX_AUC_LOSS = 0.002
TRAIN_TEMPLATES = (
    "{term} people live in my town.",
    "She is {a} {term} teacher.",
    "The article mentions {term} voters.",
    "He is {term} and proud of it.",
    "Our {term} neighbours invited us for dinner.",
    "Many {term} students attend this school.",
    "I met {a} {term} writer yesterday.",
    "There is {a} {term} bakery near the station.",
    "My grandmother was {term}.",
    "The {term} choir sang at the festival.",
    "Being {term} is not a choice or a problem.",
    "I'm {term}, ask me anything about my life.",
)
# More identity words than the evaluation uses, so balancing is not fitted to its terms alone.
TRAIN_TERMS = (
    *evaluate.IDENTITY_TERMS,
    "jew",
    "islam",
    "women",
    "men",
    "immigrant",
    "arab",
    "hispanic",
    "disabled",
    "lgbtq",
    "homosexuals",
)


@dataclass(frozen=True)
class Choice:
    """Hyper-parameters for one label."""

    C: float
    class_weight: str | None
    implied: bool = False
    alpha: float = 0.0


@dataclass
class Split:
    """One split's rows, normalised texts, label matrix (NaN = unknown) and features."""

    rows: list[Row]
    texts: list[str]
    y: np.ndarray
    jigsaw: np.ndarray
    six: np.ndarray
    X: sparse.csr_matrix = None  # type: ignore[assignment]  # filled by featurize_splits

    def source_weights(self) -> np.ndarray:
        """Per-row training weight by source."""
        return np.array([SOURCE_WEIGHT.get(row.source, 1.0) for row in self.rows])


Fitted = dict[int, tuple[np.ndarray, float]]  # label -> (coefficients, intercept)


def load_split(path: Path) -> Split:
    """Read a JSONL split and normalise its texts."""
    return split_from_rows(read_jsonl(path))


def split_from_rows(rows: list[Row]) -> Split:
    """A Split (without features) from rows."""
    y = np.array(
        [
            [np.nan if row.labels[label] is None else row.labels[label] for label in LABELS]
            for row in rows
        ],
        dtype=np.float64,
    ).reshape(-1, 6)
    jigsaw = np.array([row.source in JIGSAW_SOURCES for row in rows], dtype=bool)
    six = jigsaw & ~np.isnan(y).any(axis=1)
    return Split(rows, [normalize_text(row.text) for row in rows], y, jigsaw, six)


def count_matrix(
    featurizer: Featurizer, texts: Sequence[str], chunk: int = 2048
) -> sparse.csr_matrix:
    """Per-text n-gram counts, each block scaled by 1/sqrt(its occurrences), as CSR."""
    parts = [
        _chunk_matrix(featurizer, texts[start : start + chunk])
        for start in range(0, len(texts), chunk)
    ]
    return sparse.vstack(parts, format="csr")


def _chunk_matrix(featurizer: Featurizer, texts: Sequence[str]) -> sparse.csr_matrix:
    batch = featurizer.featurize(texts)
    occurrences = {"word": np.zeros(batch.size), "char": np.zeros(batch.size)}
    for block in batch.blocks:
        occurrences[block.kind] += np.diff(block.segments)
    rows, cols, values = [], [], []
    for block in batch.blocks:
        text_ids = np.repeat(np.arange(batch.size), np.diff(block.segments))
        first = block.segments[0]
        buckets = block.buckets[first : first + len(text_ids)]
        keep = buckets != featurizer.null_bucket
        scale = 1.0 / np.sqrt(np.maximum(occurrences[block.kind], 1.0))
        rows.append(text_ids[keep])
        cols.append(buckets[keep])
        values.append(scale[text_ids[keep]])
    matrix = sparse.csr_matrix(
        (np.concatenate(values).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(batch.size, featurizer.config.n_features),
    )
    matrix.sum_duplicates()
    return matrix


def document_frequency(counts: sparse.csr_matrix) -> np.ndarray:
    """How many texts contain each bucket."""
    return np.bincount(counts.indices, minlength=counts.shape[1])


def inverse_document_frequency(df: np.ndarray, n_texts: int) -> np.ndarray:
    """Smoothed IDF per bucket, as scikit-learn computes it."""
    return (np.log((1.0 + n_texts) / (1.0 + df)) + 1.0).astype(np.float32)


def apply_idf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Multiply each column by its IDF."""
    out = counts.copy()
    out.data = out.data * idf[out.indices]
    return out


def featurize_splits(config: FeatureConfig, splits: dict[str, Split]) -> np.ndarray:
    """Fill each split's X (IDF from train); return train's document frequencies."""
    featurizer = Featurizer(config)
    counts = {name: count_matrix(featurizer, split.texts) for name, split in splits.items()}
    df = document_frequency(counts["train"])
    idf = inverse_document_frequency(df, counts["train"].shape[0])
    for name, split in splits.items():
        split.X = apply_idf(counts[name], idf)
    return df


def training_rows(
    split: Split, label: int, implied: bool, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices, targets and sample weights for one label; rows silent on it are left out."""
    y = split.y[:, label]
    weights = np.ones(len(y)) if weights is None else weights
    known = ~np.isnan(y)
    targets = np.where(known, y, 0.0)
    if implied:
        implied_rows = ~known & (split.y[:, TOXICITY] == 0)
        weights = np.where(implied_rows, weights * IMPLIED_WEIGHT, weights)
        known = known | implied_rows
    index = np.flatnonzero(known)
    return index, targets[index].astype(int), weights[index]


def fit(
    split: Split, label: int, choice: Choice, weights: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Logistic regression coefficients and intercept for one label."""
    index, y, sample_weight = training_rows(split, label, choice.implied, weights)
    model = LogisticRegression(
        C=choice.C,
        class_weight=choice.class_weight,
        solver="liblinear",
        dual=True,
        max_iter=1000,
        tol=1e-4,
        random_state=0,
    )
    model.fit(split.X[index], y, sample_weight=sample_weight)
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


def jigsaw_auc(split: Split, label: int, scores: np.ndarray) -> float:
    """AUC on the split's Jigsaw rows that know the label."""
    mask = split.jigsaw & ~np.isnan(split.y[:, label])
    return roc_auc_or_nan(split.y[mask, label], scores[mask])


def tune(train: Split, valid: Split, weights: np.ndarray) -> tuple[dict[int, Choice], Fitted, dict]:
    """Choose and fit every label's model on validation AUC; return choices, fits, scores."""
    tried: dict[str, dict[str, float]] = {label: {} for label in LABELS}
    best_tox: tuple[float, Choice, tuple[np.ndarray, float]] | None = None
    for C in TOXICITY_C_GRID:
        choice = Choice(C, None)
        fitted = fit(train, TOXICITY, choice, weights)
        auc = jigsaw_auc(valid, TOXICITY, valid.X @ fitted[0] + fitted[1])
        tried["toxicity"][str(choice)] = auc
        log.info("toxicity %s: valid AUC %.4f", choice, auc)
        if best_tox is None or auc > best_tox[0]:
            best_tox = (auc, choice, fitted)
    assert best_tox is not None
    choices, fits = {TOXICITY: best_tox[1]}, {TOXICITY: best_tox[2]}
    z_tox = valid.X @ best_tox[2][0] + best_tox[2][1]
    for label in range(1, len(LABELS)):
        choices[label], fits[label] = _tune_sublabel(
            train, valid, label, weights, z_tox, tried[LABELS[label]]
        )
    return choices, fits, tried


def _tune_sublabel(
    train: Split,
    valid: Split,
    label: int,
    weights: np.ndarray,
    z_tox: np.ndarray,
    tried: dict[str, float],
) -> tuple[Choice, tuple[np.ndarray, float]]:
    best: tuple[float, Choice, tuple[np.ndarray, float]] | None = None
    for implied in (False, True):
        fitted = fit(train, label, Choice(SUBLABEL_C, SUBLABEL_CLASS_WEIGHT, implied), weights)
        own = valid.X @ fitted[0] + fitted[1]
        for alpha in ALPHA_GRID:
            choice = Choice(SUBLABEL_C, SUBLABEL_CLASS_WEIGHT, implied, alpha)
            auc = jigsaw_auc(valid, label, own + alpha * z_tox)
            tried[str(choice)] = auc
            if best is None or auc > best[0]:
                best = (auc, choice, fitted)
    assert best is not None
    log.info("%s: chose %s (valid AUC %.4f)", LABELS[label], best[1], best[0])
    return best[1], best[2]


def stacked_logits(X: sparse.csr_matrix, fits: Fitted, choices: dict[int, Choice]) -> np.ndarray:
    """Each label's own logit plus alpha times the toxicity logit (before calibration)."""
    raw = np.column_stack([X @ fits[label][0] + fits[label][1] for label in range(len(LABELS))])
    alphas = np.array([choices[label].alpha for label in range(len(LABELS))])
    return raw + alphas[None, :] * raw[:, [TOXICITY]]


def calibrate(valid: Split, stacked: np.ndarray) -> np.ndarray:
    """Platt scale and shift per label from validation rows; shape (labels, 2).

    Toxicity is calibrated on the Jigsaw rows. A sub-label uses every row that knows it, from
    any source (so toxic comments that are not, say, identity attacks temper how far a very
    toxic score pushes it), plus known non-toxic Jigsaw rows as negatives.
    """
    out = np.zeros((len(LABELS), 2))
    for label in range(len(LABELS)):
        y = valid.y[:, label]
        if label == TOXICITY:
            rows = valid.jigsaw & ~np.isnan(y)
        else:
            rows = ~np.isnan(y) | (valid.jigsaw & (valid.y[:, TOXICITY] == 0))
        target = np.nan_to_num(y[rows]).astype(int)
        platt = LogisticRegression(C=100.0).fit(stacked[rows, label][:, None], target)
        out[label] = platt.coef_[0, 0], platt.intercept_[0]
    return out


def _fold(
    fits: Fitted, choices: dict[int, Choice], platt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (features, labels) and intercepts of the calibrated, stacked logits."""
    coef_tox, b_tox = fits[TOXICITY]
    coefs = np.zeros((len(coef_tox), len(LABELS)))
    intercepts = np.zeros(len(LABELS))
    for label in range(len(LABELS)):
        coef, b = fits[label]
        alpha = choices[label].alpha
        scale, shift = platt[label]
        coefs[:, label] = scale * (coef + alpha * coef_tox)
        intercepts[label] = scale * (b + alpha * b_tox) + shift
    return coefs, intercepts


def make_model(
    config: FeatureConfig,
    idf: np.ndarray,
    keep: np.ndarray,
    fits: Fitted,
    choices: dict[int, Choice],
    platt: np.ndarray,
) -> LinearToxicityModel:
    """The shippable model: stacking, calibration and IDF folded in, rare buckets zeroed."""
    coefs, intercepts = _fold(fits, choices, platt)
    weights = (coefs * (idf * keep)[:, None]).astype(np.float32)
    return LinearToxicityModel(config, weights, intercepts)


def split_metrics(split: Split, logits: np.ndarray) -> dict:
    """Per-label AUC on the six-label Jigsaw rows (and toxicity on all Jigsaw rows)."""
    six = {
        label: roc_auc_or_nan(split.y[split.six, i], logits[split.six, i])
        for i, label in enumerate(LABELS)
    }
    six["mean"] = float(np.mean([six[label] for label in LABELS]))
    return {
        "six_label_rows": int(split.six.sum()),
        "jigsaw_rows": int(split.jigsaw.sum()),
        "auc_six_label_rows": six,
        "toxicity_auc_all_jigsaw_rows": jigsaw_auc(split, TOXICITY, logits[:, TOXICITY]),
        "positives_six_label_rows": {
            label: int(np.nansum(split.y[split.six, i])) for i, label in enumerate(LABELS)
        },
    }


def identity_examples() -> list[Row]:
    """Synthetic non-toxic sentences naming identities; every label is genuinely 0."""
    zeros = dict.fromkeys(LABELS, 0)
    return [
        Row(text[0].upper() + text[1:], dict(zeros), SYNTHETIC_SOURCE)
        for _, text in evaluate.template_sentences(TRAIN_TEMPLATES, TRAIN_TERMS)
    ]


def identity_weights(split: Split) -> np.ndarray:
    """Extra weight for synthetic identity sentences and non-toxic rows naming identities."""
    pattern = re.compile(r"\b(?:" + "|".join(TRAIN_TERMS) + r")\b", re.IGNORECASE)
    mentions = np.array([bool(pattern.search(text)) for text in split.texts], dtype=bool)
    synthetic = np.array([row.source == SYNTHETIC_SOURCE for row in split.rows], dtype=bool)
    weights = np.where(mentions & (split.y[:, TOXICITY] == 0), IDENTITY_UPWEIGHT, 1.0)
    return np.where(synthetic, SYNTHETIC_WEIGHT, weights)


def with_identity_examples(train: Split, config: FeatureConfig, idf: np.ndarray) -> Split:
    """The training split plus the synthetic identity sentences (same IDF)."""
    extra = split_from_rows(identity_examples())
    extra.X = apply_idf(count_matrix(Featurizer(config), extra.texts), idf)
    merged = Split(
        train.rows + extra.rows,
        train.texts + extra.texts,
        np.vstack([train.y, extra.y]),
        np.concatenate([train.jigsaw, extra.jigsaw]),
        np.concatenate([train.six, extra.six]),
    )
    merged.X = sparse.vstack([train.X, extra.X], format="csr")
    return merged


def main(
    data_dir: Path = DEFAULT_OUT,
    out_dir: Path = DEFAULT_DIR,
    shared_root: Path | None = DEFAULT_ROOT,
    config: FeatureConfig | None = None,
) -> dict:
    """Train on train.jsonl, tune on valid.jsonl, report test.jsonl; save model and metrics."""
    began = time.time()
    config = config or FeatureConfig()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    splits = {name: load_split(data_dir / f"{name}.jsonl") for name in ("train", "valid", "test")}
    df = featurize_splits(config, splits)
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    idf = inverse_document_frequency(df, len(train.rows))
    keep = (df >= MIN_DF).astype(np.float32)
    log.info("features: %d nnz in train (%.0fs)", train.X.nnz, time.time() - began)

    choices, fits, tried = tune(train, valid, train.source_weights())
    balanced_train = with_identity_examples(train, config, idf)
    balanced_weights = balanced_train.source_weights() * identity_weights(balanced_train)
    balanced_fits = {
        label: fit(balanced_train, label, choices[label], balanced_weights)
        for label in range(len(LABELS))
    }
    bias_sets = load_bias_sets(shared_root) if shared_root else None
    report, models = {}, {}
    for name, fitted in (("plain", fits), ("balanced", balanced_fits)):
        platt = calibrate(valid, stacked_logits(valid.X, fitted, choices))
        models[name] = make_model(config, idf, keep, fitted, choices, platt)
        report[name] = _report(models[name], valid, test, bias_sets)
        log.info("%s: test %s", name, report[name]["test"]["auc_six_label_rows"])
    loss = (
        report["plain"]["valid"]["auc_six_label_rows"]["mean"]
        - report["balanced"]["valid"]["auc_six_label_rows"]["mean"]
    )
    shipped = "balanced" if loss <= MAX_AUC_LOSS else "plain"
    summary = {
        "test": report[shipped]["test"]["auc_six_label_rows"],
        "valid": report[shipped]["valid"]["auc_six_label_rows"],
    }
    models[shipped].save(
        out_dir,
        {
            "version": time.strftime("%Y-%m-%d"),
            "trained_on": str(data_dir.name),
            "identity_balancing": shipped == "balanced",
            "metrics": summary,
        },
    )
    loaded = LinearToxicityModel.load(out_dir)
    metrics = {
        "shipped": shipped,
        "choices": {LABELS[i]: asdict(c) for i, c in choices.items()},
        "tuning_valid_auc": tried,
        "features": asdict(config),
        "source_weights": SOURCE_WEIGHT,
        "train_rows": len(train.rows),
        "shipped_model_test": split_metrics(test, loaded.logits(test.texts)),
        "speed_comments_per_s_one_core": round(
            measure_speed(loaded, [row.text for row in test.rows[:5000]]), 1
        ),
        "load_seconds": _load_seconds(out_dir),
        "weights_file_bytes": (out_dir / "weights.npz").stat().st_size,
        **report,
        "seconds": round(time.time() - began),
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def _report(
    model: LinearToxicityModel,
    valid: Split,
    test: Split,
    bias_sets: dict[str, list[tuple[str, int]]] | None,
) -> dict:
    return {
        "valid": split_metrics(valid, model.logits(valid.texts)),
        "test": split_metrics(test, model.logits(test.texts)),
        "bias": evaluate.bias_report(model, bias_sets),
    }


def _load_seconds(model_dir: Path) -> float:
    began = time.perf_counter()
    LinearToxicityModel.load(model_dir)
    return round(time.perf_counter() - began, 3)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    data_arg = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    out_arg = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_DIR
    result = main(data_arg, out_arg)
    print(json.dumps({key: result[key] for key in ("shipped", "choices", "seconds")}, indent=2))
    for variant in ("plain", "balanced"):
        print(variant, json.dumps(result[variant]["test"]["auc_six_label_rows"]))
