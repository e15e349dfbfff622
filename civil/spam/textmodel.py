"""The shipped spam text model: hashed word and character n-grams, one calibrated logistic model.

It reuses the toxicity model's featuriser and file format (``weights.npz`` float16 arrays plus
a JSON description, no pickle) with one label, ``spam``; the logit is already Platt-calibrated
on out-of-fold predictions, so ``sigmoid(logit)`` is a probability on the training mixture.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from civil.scoring import ScorerUnavailable
from civil.toxicity.linear import LinearToxicityModel

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "models" / "spam"


class SpamTextModel:
    """Spam log-odds of already-cleaned texts (see ``civil.spam.normalize``)."""

    def __init__(self, linear: LinearToxicityModel) -> None:
        """Wrap a one-label hashed linear model."""
        if tuple(linear.labels) != ("spam",):
            raise ScorerUnavailable(f"not a spam model: labels {linear.labels}")
        self.linear = linear
        self.meta = linear.meta

    @classmethod
    def load(cls, model_dir: Path = DEFAULT_DIR) -> SpamTextModel:
        """Load the arrays and JSON from ``model_dir``, or raise ScorerUnavailable."""
        return cls(LinearToxicityModel.load(Path(model_dir)))

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """One calibrated log-odds per text."""
        return self.linear.logits(list(texts))[:, 0].astype(np.float64)

    def save(self, model_dir: Path, extra: dict | None = None) -> None:
        """Write the model to ``model_dir`` (arrays + JSON)."""
        self.linear.save(Path(model_dir), extra)


@lru_cache(maxsize=4)
def load_cached(model_dir: str) -> SpamTextModel:
    """The model in ``model_dir``, loaded once per process (workers call it at start)."""
    return SpamTextModel.load(Path(model_dir))
