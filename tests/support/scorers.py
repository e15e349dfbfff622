"""Plug-in scorers for tests (loaded by workers through CIVIL_TOXICITY_MODEL=python:...)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from civil.scoring import TOXICITY_LABELS


class SlowScorer:
    """Takes TEST_SCORER_SLOW_SECONDS per batch and leaves a marker naming its pid meanwhile."""

    name = "test:slow"

    def __init__(self) -> None:
        self.delay = float(os.environ.get("TEST_SCORER_SLOW_SECONDS", "2"))
        self.markers = Path(os.environ["TEST_SCORER_MARKER_DIR"])

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        marker = self.markers / f"scoring-{os.getpid()}-{time.monotonic_ns()}"
        marker.write_text(str(os.getpid()))
        time.sleep(self.delay)
        return [dict.fromkeys(TOXICITY_LABELS, 0.01) for _ in texts]


class CrashingScorer:
    """Kills its own process on every call: a poison comment as far as the worker can tell."""

    name = "test:crash"

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        os._exit(1)


class RecordingScorer:
    """Appends each batch's size to TEST_SCORER_MARKER_DIR/batches (one line per model call)."""

    name = "test:recording"

    def __init__(self) -> None:
        self.log = Path(os.environ["TEST_SCORER_MARKER_DIR"]) / "batches"

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        with self.log.open("a") as handle:
            handle.write(f"{len(texts)}\n")
        return [dict.fromkeys(TOXICITY_LABELS, 0.01) for _ in texts]


class KeywordScorer:
    """Toxicity from words: "idiot" 0.97, "stupid" 0.7, "silly" 0.45, else 0.02."""

    name = "test:keyword"
    words: tuple[tuple[str, float], ...] = (("idiot", 0.97), ("stupid", 0.7), ("silly", 0.45))

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        out = []
        for text in texts:
            score = max((v for w, v in self.words if w in text.lower()), default=0.02)
            out.append(dict.fromkeys(TOXICITY_LABELS, 0.01) | {"toxicity": score})
        return out


class StricterKeywordScorer(KeywordScorer):
    """The keyword model, but "silly" scores 0.75: a candidate model that holds more."""

    name = "test:keyword-strict"
    words = (("idiot", 0.97), ("stupid", 0.7), ("silly", 0.75))


class HarmWordScorer:
    """Per-label scores from words: insults score toxicity/insult 0.97, "kill" threat 0.95."""

    name = "test:harm-words"
    words: tuple[tuple[str, dict[str, float]], ...] = (
        ("idiot", {"toxicity": 0.97, "insult": 0.97}),
        ("moron", {"toxicity": 0.97, "insult": 0.97}),
        ("kill", {"toxicity": 0.9, "threat": 0.95}),
    )

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        out = []
        for text in texts:
            scores = dict.fromkeys(TOXICITY_LABELS, 0.02)
            for word, hits in self.words:
                if word in text.lower():
                    scores |= hits
            out.append(scores)
        return out
