"""The cascade: the linear model settles clear cases, the transformer scores the uncertain band.

A comment goes to the transformer when, for any label, the linear score falls inside that
label's band [low, high], and always when it is long enough to be windowed. An escalated
short comment takes a blend of both members' scores (`linear_weight`). A long one is read
sentence by sentence (`sentence_chunks`): a 128-token window of news with one insult in it
scores toxicity ~0.2, the insult's sentence alone ~0.95. The linear model scores every
sentence and the transformer reads those it leaves unsettled; each sentence is then scored
as a short comment would be, the transformer trusted more where it is confident
(`sentence_gate`), and each label takes its max over the sentences. Bands are chosen on
validation data (`tune_bands` in `civil/toxicity/training/tune.py`) so that the merged scores
lose (almost) no ROC-AUC against the transformer alone while sending as few comments as
possible to it. They ship as JSON beside the models, with the blend weight
(`civil/toxicity/training/blend.py`) and the long-comment gate
(`civil/toxicity/training/long_comments.py`).
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
    # transformer (`unsettled`); False sends every sentence.
    screen_sentences: bool = True
    # Long comments: None takes each label's max over the linear windows and the transformer's
    # sentences. A number scores each sentence as a short comment (the blend where escalated)
    # and, where the transformer's score reaches this gate, weighs the linear member by
    # `confident_weight` instead: a mild insult the linear model does not know still scores
    # high, while a max over many benign sentences of a long talk page no longer takes the
    # transformer's raw scores (models/README.md, chosen on validation).
    sentence_gate: float | None = None
    confident_weight: float = 0.0

    @property
    def name(self) -> str:
        return f"cascade({self.fast.name}+{self.slow.name})"

    def escalate(self, scores: dict[str, float]) -> bool:
        return any(low <= scores[label] <= high for label, (low, high) in self.bands.items())

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]:
        """Scores and windows per text: the linear model's windows for texts it settled.

        The linear model windows long texts too (each label's max over its windows); a
        windowed text is always escalated and scored sentence by sentence (`score_long`).
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
        merged = self.score_long([texts[i] for i in long], [results[i][0] for i in long])
        for index, (scores, read) in zip(long, merged, strict=True):
            results[index] = (scores, max(results[index][1], read))
        return results

    def score_long(
        self, texts: Sequence[str], window_maxima: Sequence[dict[str, float]]
    ) -> list[tuple[dict[str, float], int]]:
        """Long texts, sentence by sentence, and the number of sentences the transformer read.

        ``window_maxima``: each text's linear scores, the max over its windows.

        With ``sentence_gate`` set, each sentence is scored as a short comment would be (the
        linear score where the linear model settles it, else the blend of both members), and
        where the transformer's score reaches the gate, by the higher of that blend and the
        one weighing the linear model by ``confident_weight``; each label takes its max over
        the sentences. Without it, each label is the max over the linear model's
        windows and the transformer's sentences.
        """
        pieces: list[str] = []
        owners: list[tuple[int, int]] = []
        sentence_scores: list[list[dict[str, float]]] = []
        needed = self.screen_sentences or self.sentence_gate is not None
        for index, text in enumerate(texts):
            chunks = sentence_chunks(text)
            linear = self.fast.score_batch(chunks) if needed else []
            sentence_scores.append(linear)
            for position, chunk in enumerate(chunks):
                if not self.screen_sentences or self.unsettled(linear[position]):
                    pieces.append(chunk)
                    owners.append((index, position))
        slow = self.slow.score_batch_detailed(pieces) if pieces else []
        read: list[dict[int, dict[str, float]]] = [{} for _ in texts]
        for (index, position), (scores, _) in zip(owners, slow, strict=True):
            read[index][position] = scores
        return [
            (self.merge_sentences(window_max, sentences, by_position), len(by_position))
            for window_max, sentences, by_position in zip(
                window_maxima, sentence_scores, read, strict=True
            )
        ]

    def merge_sentences(
        self,
        window_max: dict[str, float],
        linear: list[dict[str, float]],
        read: dict[int, dict[str, float]],
    ) -> dict[str, float]:
        """One long text's scores from its linear windows' max and its sentences' scores."""
        if self.sentence_gate is None:
            best = dict(window_max)
            for scores in read.values():
                for label, value in scores.items():
                    best[label] = max(best.get(label, 0.0), value)
            return best
        w, gate, confident = self.linear_weight, self.sentence_gate, self.confident_weight
        best = dict.fromkeys(window_max, 0.0)
        for position, fast in enumerate(linear):
            slow = read.get(position)
            for label in best:
                value = fast[label]
                if slow is not None:
                    value = w * fast[label] + (1 - w) * slow[label]
                    if slow[label] >= gate:
                        trusted = confident * fast[label] + (1 - confident) * slow[label]
                        value = max(value, trusted)
                best[label] = max(best[label], value)
        return best

    def unsettled(self, scores: dict[str, float]) -> bool:
        """Whether the linear scores of a sentence leave some label inside its band or above."""
        return any(scores[label] >= low for label, (low, _) in self.bands.items())

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


def load_sentence_gate(path: Path) -> tuple[float | None, float]:
    """The long-comment rule of ``cascade.json``: ``long.sentence_gate`` (None: the max rule)
    and ``long.confident_linear_weight``."""
    long = json.loads(Path(path).read_text()).get("long", {})
    gate, confident = long.get("sentence_gate"), float(long.get("confident_linear_weight", 0.0))
    for name, value in (("sentence_gate", gate), ("confident_linear_weight", confident)):
        if value is not None and not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"long {name} must be within [0, 1], not {value}")
    return (None if gate is None else float(gate)), confident
