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
from civil.spam.relevance import IDF_FILE, Idf, read_idf, save_idf
from civil.toxicity.linear import LinearToxicityModel

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "models" / "spam"


class SpamTextModel:
    """Spam log-odds of already-cleaned texts (see ``civil.spam.normalize``)."""

    def __init__(self, linear: LinearToxicityModel, idf: Idf | None = None) -> None:
        """Wrap a one-label hashed linear model and the IDF table its article measure uses."""
        if tuple(linear.labels) != ("spam",):
            raise ScorerUnavailable(f"not a spam model: labels {linear.labels}")
        self.linear = linear
        self.meta = linear.meta
        self.idf = idf

    @classmethod
    def load(cls, model_dir: Path = DEFAULT_DIR) -> SpamTextModel:
        """Load the arrays and JSON from ``model_dir``, or raise ScorerUnavailable."""
        try:
            idf = read_idf(Path(model_dir) / IDF_FILE)
        except (OSError, ValueError, KeyError) as exc:
            raise ScorerUnavailable(f"unreadable spam IDF table in {model_dir}: {exc}") from exc
        return cls(LinearToxicityModel.load(Path(model_dir)), idf)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """One calibrated log-odds per text."""
        return self.linear.logits(list(texts))[:, 0].astype(np.float64)

    def save(self, model_dir: Path, extra: dict | None = None) -> None:
        """Write the model to ``model_dir`` (arrays + JSON, and the IDF table when it has one)."""
        self.linear.save(Path(model_dir), extra)
        if self.idf is not None:
            save_idf(self.idf, Path(model_dir) / IDF_FILE)


@lru_cache(maxsize=4)
def load_cached(model_dir: str) -> SpamTextModel:
    """The model in ``model_dir``, loaded once per process (workers call it at start)."""
    return SpamTextModel.load(Path(model_dir))
