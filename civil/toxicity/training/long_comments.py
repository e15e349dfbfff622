"""Choose how the cascade merges a long comment's scores: a grid on validation, test reported.

``python -m civil.toxicity.training.long_comments [--data valid.jsonl] [--test CSV]
[--cache scores.jsonl]`` scores every member once (the transformer's scores memoised in
``--cache``), then for each rule and parameter replaces the long comments' cascade scores by
the rule's and prints the mean ROC-AUC over all rows (each label on the rows that know it).
The choice is the best validation figure; the test CSV's figures are printed beside, never
used to choose.

Rules, per label, for a comment the linear model windows (L: its window max; per sentence j
the linear score l_j and, for the sentences the linear model leaves unsettled, the
transformer's m_j):

- ``max``: max(L, max_j m_j) (the rule until 2026-12-01, evening);
- ``sentence`` (gate g, confident weight c): each sentence scored as the cascade scores a short
  comment (l_j if settled, else w*l_j + (1-w)*m_j), and where m_j >= g the higher of that and
  c*l_j + (1-c)*m_j; the max over sentences. Same transformer reads as ``max``.

The choice must keep the functional suite's ``long_insult`` rate of ``max`` (an insult
anywhere in a long comment is still held); ties go to the first in grid order.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.cascade import CascadeScorer, sentence_chunks
from civil.toxicity.dataset import Dataset, read_dataset
from civil.toxicity.linear import WINDOWED_FROM_CHARS
from civil.toxicity.metrics import label_aucs, mean_auc
from civil.toxicity.training.by_source import MemoScorer, matrix, memoised_cascade
from civil.toxicity.training.data import DEFAULT_OUT, read_jigsaw_csv

GATES = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8)
CONFIDENT = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3)


@dataclass
class LongComment:
    row: int
    linear: np.ndarray  # (6,) window max
    sentences_linear: np.ndarray  # (k, 6)
    sentences_slow: np.ndarray  # (k, 6)
    read: np.ndarray  # (k,) bool: the linear model left the sentence unsettled


def csv_dataset(path: Path) -> Dataset:
    texts, columns = read_jigsaw_csv(path)
    labels = np.stack([columns[label] for label in TOXICITY_LABELS], axis=1).astype(np.float32)
    return Dataset(texts, labels, ["csv"] * len(texts), ["en"] * len(texts))


def members(data: Dataset, cascade: Any, slow: MemoScorer) -> tuple[np.ndarray, list[LongComment]]:
    """The cascade's scores of every row and its members' scores of the long ones."""
    inner = getattr(cascade, "default", cascade)
    scores = matrix(cascade.score_batch(data.texts))
    detailed = inner.fast.score_batch_detailed(data.texts)
    low = np.array([inner.bands[label][0] for label in TOXICITY_LABELS])
    out = []
    for row, (linear, windows) in enumerate(detailed):
        if windows == 1:
            continue
        chunks = sentence_chunks(data.texts[row])
        lin = matrix(inner.fast.score_batch(chunks))
        read = np.asarray((lin >= low).any(axis=1))
        # The transformer reads only the sentences the cascade would send it.
        slow_scores = np.full(lin.shape, np.nan)
        if read.any():
            slow_scores[read] = matrix(
                slow.score_batch([c for c, r in zip(chunks, read, strict=True) if r])
            )
        out.append(
            LongComment(
                row,
                matrix([linear])[0],
                lin,
                slow_scores,
                read,
            )
        )
    return scores, out


def rule(
    comment: LongComment, name: str, weight: float, gate: float, confident: float
) -> np.ndarray:
    """One long comment's six scores under rule ``name``: the scorer's own
    ``CascadeScorer.merge_sentences``, so the study measures the shipped code."""
    merger = CascadeScorer(
        None,
        None,
        {},
        weight,
        sentence_gate=None if name == "max" else gate,
        confident_weight=confident,
    )

    def scores(row: np.ndarray) -> dict[str, float]:
        return dict(zip(TOXICITY_LABELS, row.tolist(), strict=True))

    merged = merger.merge_sentences(
        scores(comment.linear),
        [scores(row) for row in comment.sentences_linear],
        {int(j): scores(comment.sentences_slow[j]) for j in np.flatnonzero(comment.read)},
    )
    return np.array([merged[label] for label in TOXICITY_LABELS])


def evaluate(data: Dataset, scores: np.ndarray, longs: list[LongComment], *params: Any) -> float:
    """Mean ROC-AUC over ``data`` with the long comments scored by ``rule(*params)``."""
    merged = scores.copy()
    for comment in longs:
        merged[comment.row] = rule(comment, *params)
    return round(float(mean_auc(label_aucs(data.labels, merged)) or 0.0), 5)


def validation_rows(data: Dataset) -> Dataset:
    """The validation rows that know all six labels (the test's kind) and the long ones."""
    known = data.known
    return data.subset(
        [
            i
            for i, text in enumerate(data.texts)
            if known[i].all() or len(text) > WINDOWED_FROM_CHARS
        ]
    )


def grid(data: Dataset, scores: np.ndarray, longs: list[LongComment], weight: float) -> dict:
    out: dict[str, Any] = {"max": evaluate(data, scores, longs, "max", weight, 0.0, 0.0)}
    for gate in GATES:
        for confident in CONFIDENT:
            key = f"sentence {gate} {confident}"
            out[key] = evaluate(data, scores, longs, "sentence", weight, gate, confident)
    return out


def long_insult_rates(cascade: Any, slow: MemoScorer, weight: float) -> dict[str, Any]:
    """Held-or-rejected rate of the functional suite's ``long_insult`` cases under each rule."""
    from civil.decision.policy import Policy, decide
    from civil.toxicity.training.functional import cases

    texts = [case.text for case in cases() if case.functionality == "long_insult"]
    data = Dataset(
        texts, np.zeros((len(texts), 6), np.float32), ["f"] * len(texts), ["en"] * len(texts)
    )
    _, longs = members(data, cascade, slow)
    policy = Policy()

    def rate(*params: Any) -> float:
        flagged = 0
        for comment in longs:
            values = rule(comment, *params)
            scores = {label: float(v) for label, v in zip(TOXICITY_LABELS, values, strict=True)}
            action = decide(policy, toxicity=scores, spam=None, rule_hits=[], model="m").action
            flagged += action in ("hold", "reject")
        return round(flagged / len(texts), 3)

    out: dict[str, Any] = {"max": rate("max", weight, 0.0, 0.0)}
    for gate in GATES:
        for confident in CONFIDENT:
            out[f"sentence {gate} {confident}"] = rate("sentence", weight, gate, confident)
    return out


def choose(valid: dict[str, Any], rates: dict[str, Any]) -> str:
    """The rule with the best validation mean AUC among those finding ``long_insult`` as
    often as ``max`` does (``max`` itself included)."""
    options = [key for key in rates if rates[key] >= rates["max"]]
    return max(options, key=lambda key: valid[key])


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_OUT / "valid.jsonl")
    parser.add_argument("--test", type=Path, default=DEFAULT_OUT / "test_jigsaw6_unseen.csv")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--cache", type=Path, default=None, help="transformer scores, JSONL")
    args = parser.parse_args(argv)
    cascade, slow = memoised_cascade(args.models, args.cache)
    weight = getattr(cascade, "default", cascade).linear_weight
    report: dict[str, Any] = {"linear_weight": weight}
    valid = validation_rows(read_dataset(args.data))
    scores, longs = members(valid, cascade, slow)
    report["valid"] = {"rows": len(valid), "long": len(longs)} | grid(valid, scores, longs, weight)
    report["long_insult"] = rates = long_insult_rates(cascade, slow, weight)
    report["chosen"] = chosen = choose(report["valid"], rates)
    name, *params = chosen.split()
    gate, confident = (float(p) for p in params) if params else (0.0, 0.0)
    # The test rows: the shipped rule and the chosen one, once, after the choice.
    test = csv_dataset(args.test)
    scores, longs = members(test, cascade, slow)
    report["test"] = {
        "rows": len(test),
        "long": len(longs),
        "max": evaluate(test, scores, longs, "max", weight, 0.0, 0.0),
        "chosen": evaluate(test, scores, longs, name, weight, gate, confident),
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
