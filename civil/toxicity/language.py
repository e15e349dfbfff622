"""Which language a comment is in, and which model scores it.

Detection uses ``lingua-language-detector`` (offline, its language models ship inside the
wheel) restricted to ``CANDIDATES``: the languages Civil has a model for plus the commonest
others, so an unsupported language is recognised as such instead of being forced onto the
nearest supported one. Short or ambiguous texts (fewer than ``MIN_LETTERS`` letters, or no
language clearly ahead) are ``und`` (undetermined) and go to the English models: a three-word
comment is far more often English with a typo than a language we cannot read.

``LanguageRouter`` wraps the default (English) scorer: English and undetermined texts go to it,
German, French, Arabic, Portuguese, Chinese, Turkish and Danish to the multilingual linear
model (``models/multilingual``, toxicity only), anything else to the English scorer *and* is
marked unsupported, which the policy turns into a ``language_unsupported`` hold by default.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civil.scoring import ScorerUnavailable
from civil.textnorm import normalize_text

ENGLISH = "en"
UNDETERMINED = "und"
# What the multilingual model was trained on (civil/toxicity/training/multilingual.py).
MULTILINGUAL = ("de", "fr", "ar", "pt", "zh", "tr", "da")
CANDIDATES = (
    "en", *MULTILINGUAL,
    "es", "it", "nl", "ru", "pl", "sv", "nb", "ja", "ko", "hi", "uk", "el", "he", "fa", "vi",
    "id", "ro", "cs", "hu", "fi",
)  # fmt: skip
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.5
MULTILINGUAL_DIR = "multilingual"


# English function words: a plain-ASCII text made largely of them is English without asking
# the detector (which costs ~1.4 ms a comment; most comments are English).
_ENGLISH_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "that",
        "this",
        "it",
        "you",
        "your",
        "i",
        "me",
        "my",
        "we",
        "our",
        "they",
        "them",
        "their",
        "he",
        "she",
        "his",
        "her",
        "not",
        "no",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "what",
        "who",
        "why",
        "how",
        "if",
        "so",
        "just",
        "like",
        "can",
        "will",
        "would",
        "should",
        "all",
        "about",
        "from",
        "there",
    ]
)
_WORD_RE = re.compile(r"[a-z']+")


def looks_english(text: str) -> bool:
    """Plain ASCII with at least a quarter (and three) English function words."""
    if not text.isascii():
        return False
    words = _WORD_RE.findall(text.lower())
    hits = sum(word in _ENGLISH_WORDS for word in words)
    return hits >= 3 and hits * 4 >= len(words)


@dataclass(frozen=True)
class Detected:
    language: str  # ISO 639-1, or "und"
    confidence: float


class LanguageDetector:
    """lingua over ``CANDIDATES``; built on first use (a second or two), thread-safe."""

    def __init__(
        self, candidates: Sequence[str] = CANDIDATES, min_confidence: float = MIN_CONFIDENCE
    ) -> None:
        """Remember what to build."""
        self.candidates = tuple(candidates)
        self.min_confidence = min_confidence
        self._detector: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        with self._lock:
            if self._detector is None:
                try:
                    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
                except ImportError as exc:  # pragma: no cover - a declared dependency
                    raise ScorerUnavailable(f"language detector unavailable: {exc}") from exc
                languages = [
                    Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                    for code in self.candidates
                ]
                self._detector = LanguageDetectorBuilder.from_languages(*languages).build()
        return self._detector

    def detect(self, text: str) -> Detected:
        """The language of ``text`` (already normalised), or ``und``."""
        if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
            return Detected(UNDETERMINED, 0.0)
        if looks_english(text):
            return Detected(ENGLISH, 1.0)
        values = self._build().compute_language_confidence_values(text)
        if not values or values[0].value < self.min_confidence:
            return Detected(UNDETERMINED, float(values[0].value) if values else 0.0)
        code = values[0].language.iso_code_639_1.name.lower()
        return Detected(code, float(values[0].value))

    def detect_batch(self, texts: Sequence[str]) -> list[Detected]:
        return [self.detect(text) for text in texts]


@dataclass(frozen=True)
class Routed:
    """One text's scores and how they were made."""

    scores: dict[str, float]
    windows: int
    language: str
    confidence: float
    model: str
    supported: bool


class LanguageRouter:
    """The default scorer for English, the multilingual model for the languages it knows."""

    def __init__(self, default: Any, multilingual: Any, detector: LanguageDetector) -> None:
        """Wrap ``default`` (any scorer); ``multilingual`` is a LinearToxicityModel."""
        self.default = default
        self.multilingual = multilingual
        self.detector = detector

    @property
    def name(self) -> str:
        return str(self.default.name)

    def __getattr__(self, attribute: str) -> Any:
        # The default scorer's own attributes (a cascade's bands, fast and slow members).
        if attribute in {"default", "multilingual", "detector"}:
            raise AttributeError(attribute)
        return getattr(self.default, attribute)

    def score_batch_routed(self, texts: Sequence[str]) -> list[Routed]:
        detected = self.detector.detect_batch([normalize_text(text) for text in texts])
        to_multi = [i for i, d in enumerate(detected) if d.language in MULTILINGUAL]
        to_default = [i for i in range(len(texts)) if i not in set(to_multi)]
        out: list[Routed | None] = [None] * len(texts)
        if to_default:
            results = _detailed(self.default, [texts[i] for i in to_default])
            for i, (scores, windows) in zip(to_default, results, strict=True):
                d = detected[i]
                supported = d.language in (ENGLISH, UNDETERMINED)
                out[i] = Routed(scores, windows, d.language, d.confidence, self.name, supported)
        if to_multi:
            results = _detailed(self.multilingual, [texts[i] for i in to_multi])
            for i, (scores, windows) in zip(to_multi, results, strict=True):
                d = detected[i]
                out[i] = Routed(
                    scores, windows, d.language, d.confidence, "multilingual-linear", True
                )
        return [r for r in out if r is not None]

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]:
        return [(r.scores, r.windows) for r in self.score_batch_routed(texts)]

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [r.scores for r in self.score_batch_routed(texts)]

    def explain(self, text: str, label: str) -> list[tuple[int, int, float]]:
        detected = self.detector.detect(normalize_text(text))
        if detected.language in MULTILINGUAL:
            if label not in self.multilingual.labels:
                return []
            return list(self.multilingual.explain(text, label))
        explain = getattr(self.default, "explain", None)
        return list(explain(text, label)) if explain else []


def _detailed(scorer: Any, texts: list[str]) -> list[tuple[dict[str, float], int]]:
    detailed = getattr(scorer, "score_batch_detailed", None)
    if detailed is not None:
        return list(detailed(texts))
    return [(scores, 1) for scores in scorer.score_batch(texts)]


def wrap(default: Any, model_dir: Path) -> Any:
    """``default`` behind a LanguageRouter when the multilingual model is installed."""
    folder = Path(model_dir) / MULTILINGUAL_DIR
    if not (folder / "weights.npz").is_file():
        return default
    from civil.toxicity.linear import LinearToxicityModel

    return LanguageRouter(default, LinearToxicityModel.load(folder), LanguageDetector())
