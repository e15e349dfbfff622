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


class ScorerUnavailable(RuntimeError):
    """The scorer cannot run (model missing or failed to load); the failure policy applies."""


@runtime_checkable
class Scorer(Protocol):
    """Scores a batch of texts; returns one {label: probability} mapping per text."""

    @property
    def name(self) -> str: ...

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]: ...
