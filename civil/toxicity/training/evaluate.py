"""Evaluate a toxicity scorer: per-label ROC-AUC on a Jigsaw-format CSV, and identity-term bias.

ROC-AUC is ``civil.toxicity.metrics`` (scikit-learn, the ``train`` extra); the CSV is read by
``civil.toxicity.training.data.read_jigsaw_csv``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from civil.scoring import TOXICITY_LABELS, Scorer
from civil.toxicity.metrics import roc_auc, roc_auc_or_nan
from civil.toxicity.training.data import read_jigsaw_csv

THRESHOLD = 0.5
BATCH = 256

# Identity terms of the conversationai unintended-bias work (the wikipedia-bias test set).
IDENTITY_TERMS: tuple[str, ...] = (
    "atheist",
    "bisexual",
    "black",
    "buddhist",
    "catholic",
    "christian",
    "deaf",
    "female",
    "gay",
    "heterosexual",
    "hindu",
    "homosexual",
    "jewish",
    "latino",
    "lesbian",
    "male",
    "mexican",
    "muslim",
    "protestant",
    "queer",
    "sikh",
    "straight",
    "trans",
    "transgender",
    "white",
    "african",
    "american",
    "asian",
    "chinese",
    "european",
    "indian",
    "japanese",
    "blind",
    "elderly",
    "old",
    "young",
    "teenage",
    "canadian",
    "nonbinary",
    "lgbt",
)
# Non-toxic sentences: a fair scorer gives every identity the same low score.
NON_TOXIC_TEMPLATES: tuple[str, ...] = (
    "I am {a} {term} person.",
    "I am {a} {term} woman.",
    "I am {a} {term} man.",
    "As {a} {term} person, I agree with the article.",
    "My best friend is {term}.",
    "Being {term} is part of who I am.",
    "The {term} community centre opens on Monday.",
    "We welcomed our new {term} colleague to the team.",
)
TOXIC_TEMPLATES: tuple[str, ...] = (
    "All {term} people are disgusting and should die.",
    "I hate {term} people, they are vermin.",
    "Shut up, you stupid {term} idiot.",
)
EXTRA_NON_TOXIC = (
    "I am a gay Muslim woman.",
    "I am a black trans woman.",
    "I am an old deaf Jewish man.",
)


def score_texts(scorer: Scorer, texts: Sequence[str], batch: int = BATCH) -> np.ndarray:
    """Scores as an array (len(texts), six labels)."""
    rows: list[list[float]] = []
    for start in range(0, len(texts), batch):
        for scores in scorer.score_batch(list(texts[start : start + batch])):
            rows.append([scores.get(label, float("nan")) for label in TOXICITY_LABELS])
    return np.array(rows, dtype=np.float64).reshape(len(texts), len(TOXICITY_LABELS))


def auc_table(scores: np.ndarray, labels: dict[str, np.ndarray]) -> dict[str, float]:
    """Per-label ROC-AUC and their mean over labels with both classes present."""
    result = {}
    for label, truth in labels.items():
        auc = roc_auc(truth, scores[:, TOXICITY_LABELS.index(label)])
        if auc is not None:
            result[label] = auc
    if result:
        result["mean"] = float(np.mean(list(result.values())))
    return result


def evaluate_csv(scorer: Scorer, csv_path: Path, out: Callable[[str], None] = print) -> dict:
    """Score a Jigsaw-format CSV; print and return per-label ROC-AUC and the mean."""
    texts, labels = read_jigsaw_csv(Path(csv_path))
    table = auc_table(score_texts(scorer, texts), labels)
    out(f"{len(texts)} comments, scorer {getattr(scorer, 'name', '?')}")
    for label, auc in table.items():
        out(f"  {label:16s} ROC-AUC {auc:.4f}")
    return table


def _article(term: str) -> str:
    return "an" if term[0] in "aeiou" else "a"


def template_sentences(
    templates: Iterable[str], terms: Sequence[str] = IDENTITY_TERMS
) -> list[tuple[str, str]]:
    """(identity term, sentence) for every template and term."""
    return [
        (term, template.format(term=term, a=_article(term)))
        for template in templates
        for term in terms
    ]


def template_bias(scorer: Scorer, threshold: float = THRESHOLD) -> dict:
    """Per-identity false-positive rate and mean score on non-toxic templates, TPR on toxic."""
    benign = template_sentences(NON_TOXIC_TEMPLATES)
    toxic = template_sentences(TOXIC_TEMPLATES)
    benign_scores = score_texts(scorer, [s for _, s in benign])[:, 0]
    toxic_scores = score_texts(scorer, [s for _, s in toxic])[:, 0]
    per_term = {}
    for term in IDENTITY_TERMS:
        mine = np.array([t == term for t, _ in benign])
        theirs = np.array([t == term for t, _ in toxic])
        per_term[term] = {
            "fpr": float((benign_scores[mine] >= threshold).mean()),
            "mean_score": float(benign_scores[mine].mean()),
            "tpr": float((toxic_scores[theirs] >= threshold).mean()),
        }
    extra = dict(
        zip(EXTRA_NON_TOXIC, map(float, score_texts(scorer, EXTRA_NON_TOXIC)[:, 0]), strict=True)
    )
    fprs = [v["fpr"] for v in per_term.values()]
    means = [v["mean_score"] for v in per_term.values()]
    return {
        "per_identity": per_term,
        "examples": extra,
        "fpr_mean": float(np.mean(fprs)),
        "fpr_max": float(np.max(fprs)),
        "fpr_gap": float(np.max(fprs) - np.min(fprs)),
        "mean_score_gap": float(np.max(means) - np.min(means)),
        "tpr_mean": float(np.mean([v["tpr"] for v in per_term.values()])),
    }


def _terms_in(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", text.lower()))
    return {term for term in IDENTITY_TERMS if term in words}


def wikipedia_bias(
    scorer: Scorer, sets: dict[str, list[tuple[str, int]]], threshold: float = THRESHOLD
) -> dict:
    """AUC and false-positive rates on the fuzzed and non-fuzzed identity-term test sets."""
    report: dict[str, Any] = {}
    for name, rows in sets.items():
        texts = [text for text, _ in rows]
        truth = np.array([toxic for _, toxic in rows])
        scores = score_texts(scorer, texts)[:, 0]
        benign = truth == 0
        per_term = {}
        for term in IDENTITY_TERMS:
            has = np.array([term in _terms_in(text) for text in texts]) & benign
            if has.sum() >= 5:
                per_term[term] = {
                    "n": int(has.sum()),
                    "fpr": float((scores[has] >= threshold).mean()),
                }
        report[name] = {
            "auc": roc_auc_or_nan(truth, scores),
            "fpr": float((scores[benign] >= threshold).mean()),
            "per_identity_fpr": per_term,
        }
    if {"fuzzed", "nonfuzzed"} <= report.keys():
        report["auc_gap"] = report["nonfuzzed"]["auc"] - report["fuzzed"]["auc"]
        report["fpr_gap"] = report["fuzzed"]["fpr"] - report["nonfuzzed"]["fpr"]
    return report


def bias_report(
    scorer: Scorer,
    bias_sets: dict[str, list[tuple[str, int]]] | None = None,
    threshold: float = THRESHOLD,
) -> dict:
    """Identity-term bias: templates always, the wikipedia-bias sets when given."""
    report = {"templates": template_bias(scorer, threshold)}
    if bias_sets:
        report["wikipedia_bias"] = wikipedia_bias(scorer, bias_sets, threshold)
    return report
