"""The cascade: the linear model settles clear cases, the transformer scores the uncertain band.

A comment goes to the transformer when, for any label, the linear score falls inside that
label's band [low, high]. Bands are chosen on validation data (`tune_bands` in
`civil/toxicity/training/tune.py`) so that the merged scores lose (almost) no ROC-AUC against
the transformer alone while sending as few comments as possible to it. They ship as JSON beside
the models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

Band = tuple[float, float]


class _Fast(Protocol):
    name: str

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


class _Slow(Protocol):
    name: str

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]: ...


@dataclass
class CascadeScorer:
    """Linear first; the transformer only for comments inside some label's uncertain band."""

    fast: Any
    slow: Any
    bands: dict[str, Band]

    @property
    def name(self) -> str:
        return f"cascade({self.fast.name}+{self.slow.name})"

    def escalate(self, scores: dict[str, float]) -> bool:
        return any(low <= scores[label] <= high for label, (low, high) in self.bands.items())

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]:
        """Scores and windows per text: the linear model's windows for texts it settled.

        The linear model windows long texts too (each label's max over its windows), so the
        escalation decision sees an insult buried deep in a long comment.
        """
        detailed = getattr(self.fast, "score_batch_detailed", None)
        if detailed is not None:
            results: list[tuple[dict[str, float], int]] = list(detailed(texts))
        else:
            results = [(scores, 1) for scores in self.fast.score_batch(texts)]
        hard = [i for i, (scores, _) in enumerate(results) if self.escalate(scores)]
        if hard:
            for index, detailed in zip(
                hard, self.slow.score_batch_detailed([texts[i] for i in hard]), strict=True
            ):
                results[index] = detailed
        return results

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [scores for scores, _ in self.score_batch_detailed(texts)]

    def explain(self, text: str, label: str) -> list[tuple[int, int, float]]:
        """Spans from the linear model's per-token contributions (whichever model scored)."""
        return list(self.fast.explain(text, label))


def load_bands(path: Path) -> dict[str, Band]:
    data = json.loads(Path(path).read_text())
    return {label: (float(low), float(high)) for label, (low, high) in data["bands"].items()}
