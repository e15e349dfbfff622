"""The cascade: the linear model settles clear cases, the transformer scores the uncertain band.

A comment goes to the transformer when, for any label, the linear score falls inside that
label's band [low, high], and always when it is long enough to be windowed: then both members
score it in windows and each label takes the higher of the two maxima, so an abusive sentence
anywhere in a long comment is found by whichever member reads it better. The transformer reads
a long comment sentence by sentence (`sentence_chunks`): a 128-token window of news with one
insult in it scores toxicity ~0.2, the insult's sentence alone ~0.95. Bands are chosen on
validation data (`tune_bands` in `civil/toxicity/training/tune.py`) so that the merged scores
lose (almost) no ROC-AUC against the transformer alone while sending as few comments as
possible to it. They ship as JSON beside the models, with the blend weight of an escalated
comment's two scores (`linear_weight`, chosen by `civil/toxicity/training/blend.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

Band = tuple[float, float]

# A sentence ends at . ! ? or a line break followed by space; chunks shorter than
# CHUNK_MIN_CHARS join the next one (so "Think about that." keeps its context) and none is
# longer than CHUNK_MAX_CHARS (a run-on paragraph is cut at spaces).
_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")
CHUNK_MIN_CHARS = 60
CHUNK_MAX_CHARS = 400


def sentence_chunks(text: str) -> list[str]:
    """``text`` cut into sentence-sized pieces that together cover every word of it."""
    chunks: list[str] = []
    pending = ""
    for sentence in _SENTENCE_END.split(text):
        pending = f"{pending} {sentence}" if pending else sentence
        if len(pending) < CHUNK_MIN_CHARS:
            continue
        while len(pending) > CHUNK_MAX_CHARS:
            cut = pending.rfind(" ", CHUNK_MAX_CHARS // 2, CHUNK_MAX_CHARS)
            cut = cut if cut > 0 else CHUNK_MAX_CHARS
            chunks.append(pending[:cut])
            pending = pending[cut:].lstrip()
        if len(pending) >= CHUNK_MIN_CHARS:
            chunks.append(pending)
            pending = ""
    if pending.strip():
        chunks.append(pending)
    return chunks or [text]


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
    # An escalated comment's score per label: linear_weight * linear + (1 - linear_weight) *
    # transformer (0: the transformer's alone). The two members err differently; 0.4 was the
    # best mean AUC on the validation six-label rows (models/README.md).
    linear_weight: float = 0.0
    # Long comments: only the sentences the linear model does not settle as clean go to the
    # transformer (`sentences_to_read`); False sends every sentence.
    screen_sentences: bool = True

    @property
    def name(self) -> str:
        return f"cascade({self.fast.name}+{self.slow.name})"

    def escalate(self, scores: dict[str, float]) -> bool:
        return any(low <= scores[label] <= high for label, (low, high) in self.bands.items())

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]:
        """Scores and windows per text: the linear model's windows for texts it settled.

        The linear model windows long texts too (each label's max over its windows), so the
        escalation decision sees an insult buried deep in a long comment; a windowed text
        is always escalated and takes, per label, the higher of the two members' maxima.
        """
        detailed = getattr(self.fast, "score_batch_detailed", None)
        if detailed is not None:
            results: list[tuple[dict[str, float], int]] = list(detailed(texts))
        else:
            results = [(scores, 1) for scores in self.fast.score_batch(texts)]
        hard = [
            i for i, (scores, windows) in enumerate(results) if windows > 1 or self.escalate(scores)
        ]
        short = [i for i in hard if results[i][1] == 1]
        long = [i for i in hard if results[i][1] > 1]
        w = self.linear_weight
        for index, (scores, windows) in zip(
            short,
            self.slow.score_batch_detailed([texts[i] for i in short]) if short else [],
            strict=True,
        ):
            fast_scores = results[index][0]
            if w:
                scores = {k: w * fast_scores[k] + (1 - w) * v for k, v in scores.items()}
            results[index] = (scores, windows)
        pieces: list[str] = []
        owners: list[int] = []
        for index in long:
            chunks = self.sentences_to_read(sentence_chunks(texts[index]))
            pieces += chunks
            owners += [index] * len(chunks)
        merged: dict[int, tuple[dict[str, float], int]] = {
            index: (dict(results[index][0]), results[index][1]) for index in long
        }
        for index, (scores, _) in zip(
            owners, self.slow.score_batch_detailed(pieces) if pieces else [], strict=True
        ):
            # A long comment: each label's max over the linear windows and the sentences.
            best, count = merged[index]
            for label, value in scores.items():
                best[label] = max(best.get(label, 0.0), value)
            merged[index] = (best, count)
        for index in long:
            best, count = merged[index]
            results[index] = (best, max(count, owners.count(index)))
        return results

    def sentences_to_read(self, chunks: list[str]) -> list[str]:
        """The sentences of a long comment the transformer reads: those the linear model,
        scoring each sentence alone, leaves inside some label's band (or above it).

        A sentence the linear model scores clearly clean on every label is clean to the
        transformer too, as a short comment would be; this is the cascade's rule applied to
        each sentence instead of to the whole comment.
        """
        if not self.screen_sentences:
            return chunks
        scored = self.fast.score_batch(chunks)
        return [
            chunk
            for chunk, scores in zip(chunks, scored, strict=True)
            if any(scores[label] >= low for label, (low, _) in self.bands.items())
        ]

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [scores for scores, _ in self.score_batch_detailed(texts)]

    def explain(self, text: str, label: str) -> list[tuple[int, int, float]]:
        """Spans from the linear model's per-token contributions (whichever model scored)."""
        return list(self.fast.explain(text, label))


def load_bands(path: Path) -> dict[str, Band]:
    data = json.loads(Path(path).read_text())
    return {label: (float(low), float(high)) for label, (low, high) in data["bands"].items()}


def load_linear_weight(path: Path) -> float:
    """The blend weight of the linear member for escalated comments (0 when not tuned)."""
    weight = float(json.loads(Path(path).read_text()).get("blend", {}).get("linear_weight", 0.0))
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"blend linear_weight must be within [0, 1], not {weight}")
    return weight
