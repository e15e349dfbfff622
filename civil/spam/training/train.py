"""Train the spam text model on the shared YouTube + SMS data (and optionally a site's labels).

Recipe: texts are cleaned like at scoring time (``civil.spam.normalize``), de-duplicated
(a text with conflicting labels is dropped), turned into hashed word 1-2-grams and character
2-5-grams (each block scaled by 1/sqrt(occurrences), then by IDF), and fitted with L2 logistic
regression, YouTube rows weighted ``YOUTUBE_WEIGHT`` and the comment ham ``COMMENT_HAM_WEIGHT``
against SMS's 1. The raw decision values are Platt-calibrated on 5-fold out-of-fold predictions,
and the calibration and IDF are folded into the shipped weights. Buckets seen in fewer than
``MIN_DF`` texts get weight 0. Needs scikit-learn and scipy (training only).
"""

from __future__ import annotations

import csv
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from civil.spam.features import content_words
from civil.spam.normalize import clean, unicode_clean
from civil.spam.relevance import IDF_FILE, Idf, idf_table
from civil.spam.textmodel import DEFAULT_DIR, SpamTextModel
from civil.toxicity.linear import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    FeatureConfig,
    Featurizer,
    LinearToxicityModel,
)
from civil.toxicity.training.linear import count_matrix, document_frequency

log = logging.getLogger("civil.spam.training.train")

# This file is civil/spam/training/train.py: parents[4] holds the repository and the shared data.
DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "spam"
CONFIG = FeatureConfig(word_bits=16, char_bits=18, char_min=2, char_max=5, word_bigrams=True)
C = 4.0
MIN_DF = 2
SITE_LABEL_WEIGHT = 3.0  # a site's own labels describe its spam better than YouTube or SMS
# YouTube comments are the closest of the shared data to a site's comments (short replies under
# a post, spam that promotes a channel or a link); SMS and the comment ham each outnumber them
# about 4:1. Weighted 2x, the held-out videos' mean and worst F1 rose (model card, 2026-12-01b).
YOUTUBE_WEIGHT = 2.0
# Real readers' comments as ham: they teach the text model what discussion reads like (YouTube
# and SMS ham is short chat). Capped and down-weighted; never used for the Platt calibration,
# which stays on the spam collections' own mixture.
COMMENT_HAM_GROUPS = ("news-comments", "wikipedia-talk")
COMMENT_HAM_CAP = 3000
COMMENT_HAM_WEIGHT = 0.5
COMMENT_HAM_SEED = 7


@dataclass(frozen=True)
class Example:
    """One labelled text; ``group`` is the video (or ``sms``, or ``site``) it came from."""

    text: str
    spam: int
    group: str
    weight: float = 1.0


def read_youtube(path: Path) -> list[Example]:
    """One UCI YouTube Spam Collection file (CONTENT, CLASS), rows weighted ``YOUTUBE_WEIGHT``."""
    group = path.stem.split("-", 1)[-1].lower()
    with path.open(encoding="utf-8") as handle:
        return [
            Example(r["CONTENT"], int(r["CLASS"]), group, YOUTUBE_WEIGHT)
            for r in csv.DictReader(handle)
        ]


def read_sms(path: Path) -> list[Example]:
    """The SMS Spam Collection TSV (label ham/spam, text); other rows are skipped."""
    out = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 2 and row[0] in ("ham", "spam"):
                out.append(Example(row[1], int(row[0] == "spam"), "sms"))
    return out


def load_shared(root: Path = DEFAULT_DATA) -> list[Example]:
    """Every YouTube and SMS example under ``root``, de-duplicated."""
    youtube = sorted((root / "youtube").glob("*.csv"))
    if not youtube:
        raise FileNotFoundError(f"no YouTube spam CSVs under {root / 'youtube'}")
    rows = [e for path in youtube for e in read_youtube(path)]
    rows += [e for path in sorted((root / "sms").glob("*.tsv")) for e in read_sms(path)]
    return dedupe(rows)


def _held_out_texts(toxicity: Path) -> set[str]:
    """Texts of the article-comment evaluation sources, never trained on."""
    held: set[str] = set()
    for path, column in (
        (toxicity / "wikipedia-context" / "gc.csv", "text"),
        (toxicity / "civil-comments" / "sample.csv", "comment_text"),
    ):
        if path.exists():
            held.update(_csv_texts(path, (column,)))
    return held


def comment_ham(data_root: Path = DEFAULT_DATA) -> list[Example]:
    """Real reader comments, as ham: SemEval toxic-spans posts (Civil Comments, news sites)
    and Wikipedia talk comments (wikipedia-context ``gn.csv``), ``COMMENT_HAM_CAP`` of each.

    A rude comment is still not spam, so toxicity labels are ignored. Texts that appear in
    the article-comment evaluation (``gc.csv``, the Civil Comments sample) are left out.
    """
    import random

    toxicity = Path(data_root).parent / "toxicity"
    held = _held_out_texts(toxicity)
    sources = (
        ("news-comments", toxicity / "toxic-spans" / "comments.csv", "comment_text"),
        ("wikipedia-talk", toxicity / "wikipedia-context" / "gn.csv", "text"),
    )
    out = []
    for group, path, column in sources:
        if not path.exists():
            continue
        texts = [t for t in dict.fromkeys(_csv_texts(path, (column,))) if t not in held]
        texts = [t for t in texts if len(t.strip()) >= 20]
        rng = random.Random(COMMENT_HAM_SEED)  # noqa: S311 - a reproducible sample, not a secret
        picked = rng.sample(texts, min(COMMENT_HAM_CAP, len(texts)))
        out += [Example(t, 0, group, COMMENT_HAM_WEIGHT) for t in picked]
    return out


def load_training(root: Path = DEFAULT_DATA) -> list[Example]:
    """What the shipped model trains on: the spam collections plus real comments as ham."""
    return dedupe([*load_shared(root), *comment_ham(root)])


def dedupe(rows: Sequence[Example]) -> list[Example]:
    """Keep the first of each cleaned text; drop texts labelled both ways.

    A site's own label (group ``site``) wins over the shared data's for the same text.
    """
    seen: dict[str, Example] = {}
    conflicted: set[str] = set()
    for row in rows:
        key = " ".join(clean(row.text).model_text.lower().split())
        first = seen.get(key)
        if first is None:
            seen[key] = row
        elif first.spam != row.spam:
            if row.group == "site" and first.group != "site":
                seen[key] = row
            elif first.group != "site" or row.group == "site":
                conflicted.add(key)
    return [row for key, row in seen.items() if key not in conflicted and key]


def _csv_texts(path: Path, columns: Sequence[str]) -> list[str]:
    csv.field_size_limit(1 << 24)
    with path.open(encoding="utf-8", newline="") as handle:
        return [row[c] for row in csv.DictReader(handle) for c in columns if row.get(c)]


def idf_texts(data_root: Path = DEFAULT_DATA) -> dict[str, list[str]]:
    """Unlabelled texts, by source, whose document frequencies weigh the article similarity.

    Real comments and messages from the shared data: news-site comments (Civil Comments, the
    SemEval toxic-spans posts), Wikipedia talk comments and the comments they answer, YouTube
    comments and SMS. Labels are not read. Sources absent on disk are skipped.
    """
    toxicity = Path(data_root).parent / "toxicity"
    sources = {
        "civil-comments": (toxicity / "civil-comments" / "sample.csv", ("comment_text",)),
        "toxic-spans": (toxicity / "toxic-spans" / "comments.csv", ("comment_text",)),
        "wikipedia-talk": (toxicity / "wikipedia-context" / "gn.csv", ("text", "parent")),
    }
    out = {name: _csv_texts(path, cols) for name, (path, cols) in sources.items() if path.exists()}
    out["youtube"] = [e.text for e in load_shared(data_root) if e.group != "sms"]
    out["sms"] = [e.text for e in load_shared(data_root) if e.group == "sms"]
    return out


def build_idf(texts: Sequence[str]) -> Idf:
    """The IDF table of ``texts`` (each de-duplicated once, cleaned like comments are)."""
    unique = list(dict.fromkeys(texts))
    documents = (content_words(unicode_clean(t)) for t in tqdm(unique, desc="idf", unit="text"))
    return idf_table(documents)


@lru_cache(maxsize=2)
def shared_idf(data_root: Path = DEFAULT_DATA) -> tuple[Idf, dict[str, int]]:
    """The IDF table of every source in ``idf_texts`` and its text counts (once per process)."""
    sources = idf_texts(data_root)
    idf = build_idf([t for texts in sources.values() for t in texts])
    return idf, {name: len(texts) for name, texts in sources.items()}


def featurize(texts: Sequence[str]) -> sparse.csr_matrix:
    """Hashed n-gram matrix of raw texts, cleaned the way the scorer cleans them."""
    return count_matrix(Featurizer(CONFIG), [clean(t).model_text for t in texts])


def _fit_raw(
    X: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray, c: float
) -> tuple[np.ndarray, float]:
    model = LogisticRegression(C=c, max_iter=2000, solver="liblinear")
    model.fit(X, y, sample_weight=weights)
    return model.coef_[0], float(model.intercept_[0])


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and offset mapping raw decision values to calibrated log-odds."""
    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(raw.reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def fit(
    rows: Sequence[Example],
    c: float = C,
    folds: int = 5,
    article_idf: Idf | None = None,
    progress: bool = False,
) -> SpamTextModel:
    """Train, calibrate and fold everything into a shippable model (``article_idf`` beside it).

    ``progress`` shows a tqdm bar over the fits (``folds`` calibration fits, then the final one).
    """
    began = time.perf_counter()
    counts = featurize([r.text for r in rows])
    y = np.array([r.spam for r in rows])
    weights = np.array([r.weight for r in rows], dtype=np.float64)
    df = document_frequency(counts)
    idf = np.log((1 + len(rows)) / (1 + df)) + 1.0
    idf[df < MIN_DF] = 0.0
    X = (counts @ sparse.diags(idf.astype(np.float32))).tocsr()
    raw = np.zeros(len(rows))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    bar = tqdm(total=folds + 1, desc="spam model fits", unit="fit", disable=not progress)
    for train, test in splitter.split(X, y):
        coef, intercept = _fit_raw(X[train], y[train], weights[train], c)
        raw[test] = X[test] @ coef + intercept
        bar.update()
    calibrate = np.array([r.group not in COMMENT_HAM_GROUPS for r in rows])
    slope, offset = _platt(raw[calibrate], y[calibrate])
    coef, intercept = _fit_raw(X, y, weights, c)
    bar.update()
    bar.close()
    folded = (coef * idf * slope).astype(np.float32)[:, None]
    meta = {
        "version": time.strftime("%Y-%m-%d"),
        "trained_on": {
            g: sum(1 for r in rows if r.group == g) for g in sorted({r.group for r in rows})
        },
        "rows": len(rows),
        "spam_rows": int(y.sum()),
        "row_weights": {
            g: max(r.weight for r in rows if r.group == g) for g in sorted({r.group for r in rows})
        },
        "C": c,
        "platt": [slope, offset],
        "train_seconds": round(time.perf_counter() - began, 1),
    }
    linear = LinearToxicityModel(
        CONFIG, folded, np.array([intercept * slope + offset]), ("spam",), meta
    )
    return SpamTextModel(linear, article_idf)


def site_examples(texts_and_labels: Sequence[tuple[str, str]]) -> list[Example]:
    """A site's feedback rows (text, "spam"|"ham") as weighted examples."""
    return [
        Example(text, int(label == "spam"), "site", SITE_LABEL_WEIGHT)
        for text, label in texts_and_labels
        if text.strip()
    ]


def publish(model: SpamTextModel, out_dir: Path, extra: dict | None = None) -> None:
    """Write the model beside ``out_dir``, then move each finished file in (atomic renames).

    Workers may load ``out_dir`` at any moment (``model_for`` rereads a site's model when its
    files change): they see the old files or the new ones, never a half-written one, and a
    training that fails leaves the old model in place. The description goes in last.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model.save(staging, extra)
        for name in (IDF_FILE, WEIGHTS_FILE, CONFIG_FILE):
            if (staging / name).exists():
                os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def train(
    out_dir: Path = DEFAULT_DIR,
    data_root: Path = DEFAULT_DATA,
    site_rows: Sequence[tuple[str, str]] = (),
) -> dict[str, object]:
    """Train on the shared data plus ``site_rows``; write the model; return its description."""
    rows = load_training(data_root)
    extra = site_examples(site_rows)
    # A site's label overrides the shared data's for the same text.
    rows = dedupe([*extra, *rows]) if extra else rows
    idf, idf_counts = shared_idf(Path(data_root))
    model = fit(rows, article_idf=idf, progress=True)
    publish(model, Path(out_dir), {"site_labels": len(extra), "idf_texts": idf_counts})
    size = sum(p.stat().st_size for p in Path(out_dir).iterdir() if p.is_file())
    log.info("spam model: %s rows, %.1f MB in %s", len(rows), size / 1e6, out_dir)
    return {
        "out": str(out_dir),
        "rows": len(rows),
        "site_labels": len(extra),
        "bytes": size,
        "platt": model.meta.get("platt"),
    }


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, clipped against overflow."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def logit(p: float) -> float:
    """Inverse of the logistic function."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))
