"""ROC-AUC per source of a labelled split, for the linear model, MiniLM and the cascade.

``python -m civil.toxicity.training.by_source [--data valid.jsonl] [--models models]
[--cache scores.jsonl] [--per-source N]`` prints one row per source: its rows, the toxicity
AUC and the mean AUC of the labels that source has (a label with one class only in that source
has no AUC), for each model. ``--per-source N`` scores a seeded sample of at most N rows a
source. The transformer reads every text once: its scores are memoised (and appended to
``--cache``, so a stopped run resumes), and the cascade takes its escalated comments'
transformer scores from that memo, so the cascade costs only the long comments' sentences.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.dataset import Dataset, read_dataset
from civil.toxicity.metrics import label_aucs, mean_auc
from civil.toxicity.training.data import DEFAULT_OUT

Detailed = tuple[dict[str, float], int]
MODELS = ("linear", "minilm", "cascade")


class MemoScorer:
    """A scorer that scores each distinct text once and remembers the result.

    With ``path``, every result is also appended there as it comes (JSONL), so a run that is
    stopped keeps what it scored; ``read_memo`` reads the file back.
    """

    def __init__(self, scorer: Any, path: Path | None = None, batch: int = 256) -> None:
        self.scorer = scorer
        self.path = path
        self.batch = batch
        self.memo: dict[str, Detailed] = read_memo(path)

    @property
    def name(self) -> str:
        return str(self.scorer.name)

    def score_batch_detailed(self, texts: Sequence[str]) -> list[Detailed]:
        todo = list(dict.fromkeys(text for text in texts if text not in self.memo))
        for start in range(0, len(todo), self.batch):
            part = todo[start : start + self.batch]
            results = [(dict(s), int(w)) for s, w in self.scorer.score_batch_detailed(part)]
            self.memo.update(zip(part, results, strict=True))
            if self.path is not None:
                append_memo(self.path, zip(part, results, strict=True))
        return [self.memo[text] for text in texts]

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [scores for scores, _ in self.score_batch_detailed(texts)]


def read_memo(path: Path | None) -> dict[str, Detailed]:
    if path is None or not path.is_file():
        return {}
    memo: dict[str, Detailed] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            memo[record["text"]] = (record["scores"], int(record["windows"]))
    return memo


def append_memo(path: Path, results: Iterable[tuple[str, Detailed]]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        for text, (scores, windows) in results:
            handle.write(json.dumps({"text": text, "scores": scores, "windows": windows}) + "\n")


def matrix(results: Sequence[dict[str, float]]) -> np.ndarray:
    """Scores as an (N, 6) array; a label a scorer does not give counts 0 (the multilingual
    model the cascade routes German and other languages to scores toxicity only)."""
    return np.array([[scores.get(label, 0.0) for label in TOXICITY_LABELS] for scores in results])


def table(data: Dataset, scores: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """One row per source (and one for all rows): rows, toxicity AUC and mean AUC per model."""
    sources = np.asarray(data.sources, dtype=object)
    out = []
    for source in [*sorted(set(data.sources)), "all"]:
        rows = np.ones(len(data), dtype=bool) if source == "all" else sources == source
        labels = data.labels[rows]
        row: dict[str, Any] = {"source": source, "rows": int(rows.sum())}
        known = [
            label for j, label in enumerate(TOXICITY_LABELS) if not np.isnan(labels[:, j]).all()
        ]
        row["labels"] = known
        for name, values in scores.items():
            aucs = label_aucs(labels, values[rows])
            row[name] = {"toxicity": aucs["toxicity"]["auc"], "mean": mean_auc(aucs)}
        out.append(row)
    return out


def markdown(rows: list[dict[str, Any]], models: Sequence[str]) -> str:
    def cell(value: float | None) -> str:
        return "—" if value is None else f"{value:.4f}"

    head = ["source", "rows", *(f"{m} tox" for m in models), *(f"{m} mean" for m in models)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        values = [cell(row[m]["toxicity"]) for m in models] + [cell(row[m]["mean"]) for m in models]
        lines.append(f"| {row['source']} | {row['rows']} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def sample_by_source(data: Dataset, n: int, seed: int = 0) -> Dataset:
    """At most ``n`` rows of each source, drawn with a fixed seed, in their original order."""
    rng = np.random.default_rng(seed)
    sources = np.asarray(data.sources, dtype=object)
    keep: list[int] = []
    for source in sorted(set(data.sources)):
        rows = np.flatnonzero(sources == source)
        keep += rng.choice(rows, size=min(n, len(rows)), replace=False).tolist()
    return data.subset(sorted(keep))


def memoised_cascade(model_dir: Path, cache: Path | None = None) -> tuple[Any, MemoScorer]:
    """The default cascade with its transformer's scores memoised (in ``cache`` when given)."""
    from civil.toxicity.loader import load_scorer

    cascade: Any = load_scorer("cascade", model_dir)
    # Behind the language router the English cascade is its ``default``.
    inner = getattr(cascade, "default", cascade)
    inner.slow = slow = MemoScorer(inner.slow, cache)
    return cascade, slow


def score_models(
    data: Dataset, model_dir: Path, cache: Path | None = None
) -> tuple[dict[str, np.ndarray], MemoScorer]:
    """Scores of the linear model, MiniLM and the default cascade for every text of ``data``."""
    cascade, slow = memoised_cascade(model_dir, cache)
    inner = getattr(cascade, "default", cascade)
    scores = {
        "linear": matrix(inner.fast.score_batch(data.texts)),
        "minilm": matrix(slow.score_batch(data.texts)),
        "cascade": matrix(cascade.score_batch(data.texts)),
    }
    return scores, slow


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_OUT / "valid.jsonl")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--cache", type=Path, default=None, help="transformer scores, JSONL")
    parser.add_argument("--json", type=Path, default=None, help="also write the table here")
    parser.add_argument("--scores", type=Path, default=None, help="also write the scores, .npz")
    parser.add_argument(
        "--per-source", type=int, default=0, help="a seeded sample of at most N rows a source"
    )
    args = parser.parse_args(argv)
    data = read_dataset(args.data)
    if args.per_source:
        data = sample_by_source(data, args.per_source)
    scores, _ = score_models(data, args.models, args.cache)
    if args.scores is not None:
        np.savez(
            args.scores, linear=scores["linear"], minilm=scores["minilm"], cascade=scores["cascade"]
        )
    rows = table(data, scores)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    print(markdown(rows, MODELS))
    return rows


if __name__ == "__main__":
    main()
