"""The scorer interface every toxicity/spam model implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

TOXICITY_LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
)


class ScorerUnavailable(RuntimeError):  # noqa: N818 - reads better at the raise site
    """The scorer cannot run (model files missing, failed to load); the site's failure policy applies."""


@runtime_checkable
class Scorer(Protocol):
    """Scores a batch of texts; returns one {label: probability} mapping per text."""

    name: str

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]: ...
