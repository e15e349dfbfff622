"""The fast linear toxicity model: hashed word and character n-grams, one logistic model per label.

Features are computed for a whole batch at once with numpy: the (normalised, lowercased)
texts are joined with a sentinel character before each one; character n-grams are rolling
polynomial hashes over the joined code points, words are runs of letters and digits hashed
through prefix sums, and both map to buckets by multiplicative hashing. The sentinel starts
every text, so n-grams never cross two texts and the first word of a text gets a bigram with
the start.

A text's logit for a label is ``scale_w * sum(W[word buckets]) + scale_c * sum(W[char
buckets]) + intercept`` where each block's ``scale`` is ``1 / sqrt(occurrences)``. ``W`` folds
the inverse document frequency into the learned coefficients, so scoring is one gather and one
segmented sum per n-gram order. Weights ship as ``weights.npz`` (float16, no pickle) next to
``linear.json`` (feature configuration, labels, intercepts, metrics).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from civil.scoring import TOXICITY_LABELS, ScorerUnavailable
from civil.textnorm import normalize

FORMAT_VERSION = 1
CONFIG_FILE = "linear.json"
WEIGHTS_FILE = "weights.npz"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "models" / "linear"

_SENTINEL = "\x01"
_SENTINEL_CODE = 1
_MASK64 = (1 << 64) - 1
_PRIME = 0x100000001B3  # FNV-1a's 64-bit prime: odd, so invertible modulo 2**64
_PRIME_INV = pow(_PRIME, -1, 1 << 64)
_BIGRAM_PRIME = 0x9E3779B97F4A7C15
_MIX = np.uint64(0xD6E8FEB86659FD93)  # odd multiplier spreading hashes over the top bits
_WORD_SALT = 0x5BD1E9955BD1E995
_CHAR_SALT = 0xC2B2AE3D27D4EB4F


@dataclass(frozen=True)
class FeatureConfig:
    """How texts become hashed features; stored in linear.json with the weights."""

    word_bits: int = 18
    char_bits: int = 20
    char_min: int = 1
    char_max: int = 5
    word_bigrams: bool = True

    @property
    def n_features(self) -> int:
        """Word buckets come first, then character buckets."""
        return (1 << self.word_bits) + (1 << self.char_bits)


@dataclass
class Block:
    """One kind of n-gram for a batch: buckets, where each text's run starts, what it is."""

    buckets: np.ndarray  # int64 bucket per occurrence; n_features marks "no feature"
    segments: np.ndarray  # index of each text's first occurrence (plus padding texts)
    kind: str  # "word" or "char"
    starts: np.ndarray  # start of each occurrence in the joined text
    ends: np.ndarray  # end (exclusive) of each occurrence in the joined text


@dataclass
class Batch:
    """A featurised batch: its blocks and where each text starts in the joined string."""

    blocks: list[Block]
    text_starts: np.ndarray  # position of each text's first character in the joined string
    size: int


@lru_cache(maxsize=1)
def _word_char_table() -> np.ndarray:
    """Which Basic Multilingual Plane code points are letters or digits."""
    table = np.zeros(0x10000, dtype=bool)
    for code in range(0x10000):
        if chr(code).isalnum():
            table[code] = True
    return table


# A word must carry at least this share of the top word's weight to be shown as a span.
SPAN_MIN_SHARE = 0.25


def _powers(base: int, length: int) -> np.ndarray:
    """base**i modulo 2**64 for i < length."""
    return _power_table(base, max(1024, 1 << (length - 1).bit_length()))[:length]


@lru_cache(maxsize=4)
def _power_table(base: int, length: int) -> np.ndarray:
    steps = np.full(length, base, dtype=np.uint64)
    steps[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(steps, dtype=np.uint64)


def _lower(text: str) -> str:
    """Lower-case without changing the length (a few characters lower to two)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(ch.lower()[:1] or ch for ch in text)


class Featurizer:
    """Turns batches of normalised texts into hashed n-gram buckets."""

    def __init__(self, config: FeatureConfig) -> None:
        """Remember the configuration."""
        self.config = config
        self.null_bucket = config.n_features
        self._char_offset = 1 << config.word_bits

    def featurize(self, texts: Sequence[str]) -> Batch:
        """All n-gram buckets of ``texts`` (already normalised)."""
        pad = self.config.char_max + 1
        joined = _SENTINEL + _SENTINEL.join(_lower(t.replace(_SENTINEL, " ")) for t in texts)
        codes32 = np.frombuffer((joined + _SENTINEL * pad).encode("utf-32-le"), dtype=np.uint32)
        is_sentinel = codes32 == _SENTINEL_CODE
        text_id = np.cumsum(is_sentinel) - 1
        # One segment per text plus the first padding one, which ends the last text's.
        segments = np.flatnonzero(is_sentinel)[: len(texts) + 1]
        codes = codes32.astype(np.uint64)
        blocks = self._char_blocks(codes, text_id, segments)
        blocks += self._word_blocks(codes, codes32, is_sentinel, text_id, len(texts))
        return Batch(blocks, segments[:-1] + 1, len(texts))

    def _bucket(self, hashes: np.ndarray, salt: int, bits: int, offset: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            mixed = (hashes ^ np.uint64(salt)) * _MIX
        return (mixed >> np.uint64(64 - bits)).astype(np.int64) + offset

    def _char_blocks(
        self, codes: np.ndarray, text_id: np.ndarray, segments: np.ndarray
    ) -> list[Block]:
        config = self.config
        blocks = []
        hashes = codes.copy()
        for n in range(1, config.char_max + 1):
            if n > 1:
                with np.errstate(over="ignore"):
                    hashes = hashes[:-1] * np.uint64(_PRIME) + codes[n - 1 :]
            if n < config.char_min:
                continue
            salt = (_CHAR_SALT * n) & _MASK64
            buckets = self._bucket(hashes, salt, config.char_bits, self._char_offset)
            buckets[text_id[: len(hashes)] != text_id[n - 1 :]] = self.null_bucket
            starts = np.arange(len(hashes))
            blocks.append(Block(buckets, segments, "char", starts, starts + n))
        return blocks

    def _word_blocks(
        self,
        codes: np.ndarray,
        codes32: np.ndarray,
        is_sentinel: np.ndarray,
        text_id: np.ndarray,
        size: int,
    ) -> list[Block]:
        table = _word_char_table()
        kind = np.where(codes32 < 0x10000, table[np.minimum(codes32, 0xFFFF)], False)
        kind = kind.astype(np.int8) + 2 * is_sentinel.astype(np.int8)
        # Each sentinel is a run of its own (a start-of-text token); others are letter runs.
        previous = np.concatenate(([0], kind[:-1]))
        following = np.concatenate((kind[1:], [0]))
        run_starts = np.flatnonzero((kind > 0) & ((kind != previous) | (kind == 2)))
        run_ends = np.flatnonzero((kind > 0) & ((kind != following) | (kind == 2))) + 1
        with np.errstate(over="ignore"):
            prefix = np.zeros(len(codes) + 1, dtype=np.uint64)
            np.cumsum(codes * _powers(_PRIME_INV, len(codes)), dtype=np.uint64, out=prefix[1:])
            hashes = _powers(_PRIME, len(codes))[run_ends - 1] * (
                prefix[run_ends] - prefix[run_starts]
            )
        segments = np.flatnonzero(kind[run_starts] == 2)[: size + 1]
        run_text = text_id[run_starts]
        bits = self.config.word_bits
        blocks = [
            Block(self._bucket(hashes, _WORD_SALT, bits, 0), segments, "word", run_starts, run_ends)
        ]
        if self.config.word_bigrams:
            with np.errstate(over="ignore"):
                pairs = hashes[:-1] * np.uint64(_BIGRAM_PRIME) + hashes[1:]
            buckets = self._bucket(pairs, _WORD_SALT ^ 0xFF, bits, 0)
            buckets[run_text[:-1] != run_text[1:]] = self.null_bucket
            blocks.append(Block(buckets, segments, "word", run_starts[:-1], run_ends[1:]))
        return blocks


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -40.0, 40.0)))


class LinearToxicityModel:
    """Scores the six toxicity labels with hashed n-grams and per-label logistic regression."""

    name = "linear"

    def __init__(
        self,
        config: FeatureConfig,
        weights: np.ndarray,
        intercepts: np.ndarray,
        labels: Sequence[str] = TOXICITY_LABELS,
        meta: dict | None = None,
        batch_size: int = 512,
    ) -> None:
        """Build from arrays: ``weights`` is (n_features, labels), IDF already folded in."""
        if weights.shape != (config.n_features, len(labels)):
            raise ValueError(f"weights shape {weights.shape} does not match the configuration")
        self.config = config
        self.labels = tuple(labels)
        self.featurizer = Featurizer(config)
        # One zero row for "no feature"; rows padded to 8 floats (32 bytes) for the gathers.
        table = np.zeros((config.n_features + 1, 8), dtype=np.float32)
        table[:-1, : len(labels)] = weights
        self.table = table
        self.intercepts = np.asarray(intercepts, dtype=np.float32)
        self.meta = meta or {}
        self.batch_size = batch_size

    @classmethod
    def load(cls, model_dir: Path = DEFAULT_DIR) -> LinearToxicityModel:
        """Load linear.json and weights.npz from ``model_dir``, or raise ScorerUnavailable."""
        model_dir = Path(model_dir)
        try:
            meta = json.loads((model_dir / CONFIG_FILE).read_text())
            with np.load(model_dir / WEIGHTS_FILE, allow_pickle=False) as arrays:
                weights = arrays["weights"].astype(np.float32) * arrays["scale"]
        except (OSError, ValueError, KeyError) as exc:
            raise ScorerUnavailable(f"linear toxicity model in {model_dir}: {exc}") from exc
        if meta.get("format_version") != FORMAT_VERSION:
            raise ScorerUnavailable(f"unsupported linear model format in {model_dir}")
        config = FeatureConfig(**meta["features"])
        return cls(config, weights, np.array(meta["intercepts"]), meta["labels"], meta)

    def save(self, model_dir: Path, extra: dict | None = None) -> None:
        """Write the weights (float16) and the JSON description to ``model_dir``."""
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        weights = self.table[:-1, : len(self.labels)]
        # Per-label scale keeps float16 clear of overflow and underflow.
        scale = np.maximum(np.abs(weights).max(axis=0), 1e-12) / 1024.0
        np.savez_compressed(
            model_dir / WEIGHTS_FILE,
            weights=(weights / scale).astype(np.float16),
            scale=scale.astype(np.float32),
        )
        meta = {
            **self.meta,
            **(extra or {}),
            "format_version": FORMAT_VERSION,
            "features": asdict(self.config),
            "labels": list(self.labels),
            "intercepts": [float(x) for x in self.intercepts],
        }
        (model_dir / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits, (len(texts), labels), for already-normalised texts."""
        out = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            out[start : start + len(chunk)] = self._logits(self.featurizer.featurize(chunk))
        return out

    def _logits(self, batch: Batch) -> np.ndarray:
        sums = {kind: np.zeros((batch.size, 8), dtype=np.float32) for kind in ("word", "char")}
        counts = {kind: np.zeros(batch.size, dtype=np.float32) for kind in ("word", "char")}
        for block in batch.blocks:
            # np.take is several times faster than fancy indexing for row gathers.
            gathered = np.take(self.table, block.buckets, axis=0)
            segments = block.segments
            sums[block.kind] += np.add.reduceat(gathered, segments, axis=0)[: batch.size]
            counts[block.kind] += np.diff(segments)
        logits = np.repeat(self.intercepts[None, :], batch.size, axis=0)
        for kind in sums:
            scale = 1.0 / np.sqrt(np.maximum(counts[kind], 1.0))
            logits += sums[kind][:, : len(self.labels)] * scale[:, None]
        return logits

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Probabilities for the six labels, one mapping per text (max over its windows)."""
        return [scores for scores, _ in self.score_batch_detailed(texts)]

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]:
        """Scores (each label's maximum over the text's windows) and the window count.

        A whole-text sum divided by ``sqrt(n-grams)`` dilutes one insult in a long neutral
        comment; a text longer than ``WINDOW_CHARS`` is therefore scored in overlapping
        windows, like the transformer's, and each label takes its maximum.
        """
        pieces: list[str] = []
        owners: list[int] = []
        counts: list[int] = []
        for index, text in enumerate(texts):
            normalized = normalize(text).text
            spans = window_spans(normalized)
            counts.append(len(spans))
            pieces.extend(normalized[start:end] for start, end in spans)
            owners.extend([index] * len(spans))
        probabilities = _sigmoid(self.logits(pieces))
        best = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        np.maximum.at(best, np.asarray(owners, dtype=np.int64), probabilities)
        return [
            (dict(zip(self.labels, map(float, row), strict=True)), count)
            for row, count in zip(best, counts, strict=True)
        ]

    def explain(
        self, text: str, label: str = "toxicity", top_k: int = 5
    ) -> list[tuple[int, int, float]]:
        """Words that raised ``label``'s logit most, as (start, end, weight) in ``text``.

        For a windowed text the words come from the window that scored ``label`` highest.
        """
        column = self.labels.index(label)
        normalized = normalize(text)
        spans = window_spans(normalized.text)
        offset, end = spans[0]
        if len(spans) > 1:
            pieces = [normalized.text[start:stop] for start, stop in spans]
            offset, end = spans[int(np.argmax(self.logits(pieces)[:, column]))]
        window = normalized.text[offset:end]
        per_char = self._char_contributions(window, column)
        words = [(start + offset, end + offset) for start, end in _word_spans(window)]
        scored = [
            (start, end, float(per_char[start - offset : end - offset].sum()))
            for start, end in words
        ]
        scored = sorted((s for s in scored if s[2] > 0), key=lambda s: -s[2])[:top_k]
        if scored:
            # Words far weaker than the strongest ("a", "is" next to "dumb") did not drive the
            # score; highlighting them only teaches moderators to ignore the highlights.
            floor = SPAN_MIN_SHARE * scored[0][2]
            scored = [s for s in scored if s[2] >= floor]
        return [(*normalized.span(start, end), weight) for start, end, weight in scored]

    def _char_contributions(self, text: str, column: int) -> np.ndarray:
        """Each character's share of the label's logit (n-gram contributions spread evenly)."""
        batch = self.featurizer.featurize([text])
        offset = int(batch.text_starts[0])
        per_char = np.zeros(len(text) + 1, dtype=np.float64)
        counts = {kind: 0 for kind in ("word", "char")}
        for block in batch.blocks:
            counts[block.kind] += int(block.segments[1] - block.segments[0])
        for block in batch.blocks:
            first, last = int(block.segments[0]), int(block.segments[1])
            scale = 1.0 / math.sqrt(max(counts[block.kind], 1))
            values = self.table[block.buckets[first:last], column] * scale
            starts = np.clip(block.starts[first:last] - offset, 0, len(text))
            ends = np.clip(block.ends[first:last] - offset, 0, len(text))
            spread = values / np.maximum(ends - starts, 1)
            # A difference array spreads each n-gram's share over the characters it covers.
            np.add.at(per_char, starts, spread)
            np.add.at(per_char, ends, -spread)
        return np.cumsum(per_char)[: len(text)]


# Texts longer than this are scored in windows of about this many characters (a window ends at
# a space where it can), each starting about WINDOW_STRIDE characters after the last; windows
# overlap by at least 60 characters, so a short insult lies whole inside some window. Short
# windows because the sum is divided by sqrt(n-grams): one insult in 600 characters of news
# already scores 0.2-0.3 for insult, in 320 characters 0.8.
WINDOW_CHARS = 320
WINDOW_STRIDE = 200
# Only texts longer than this are windowed. Windowing every text over 320 characters cost the
# held-out Jigsaw rows 0.014 toxicity AUC (the max over many windows lifts long benign talk
# pages); from 2,000 characters on it costs 0.0034 toxicity and 0.0009 mean (models/README.md).
WINDOWED_FROM_CHARS = 2000


def window_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of the overlapping windows that cover ``text`` (one for a short text)."""
    if len(text) <= WINDOWED_FROM_CHARS:
        return [(0, len(text))]
    spans = []
    start = 0
    while True:
        end = min(start + WINDOW_CHARS, len(text))
        if end < len(text):
            # End at whitespace (not inside a word) when one is near.
            cut = text.rfind(" ", end - 60, end)
            end = cut if cut > start else end
        spans.append((start, end))
        if end >= len(text):
            return spans
        nxt = start + WINDOW_STRIDE
        space = text.find(" ", nxt - 60, nxt)
        start = space + 1 if space != -1 else nxt
        start = min(start, end)


def _word_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each run of letters and digits."""
    spans = []
    start = None
    for i, ch in enumerate(text + " "):
        if ch.isalnum():
            if start is None:
                start = i
        elif start is not None:
            spans.append((start, i))
            start = None
    return spans


def load_default() -> LinearToxicityModel:
    """The model shipped in ``models/linear``."""
    return LinearToxicityModel.load(DEFAULT_DIR)


def measure_speed(model: LinearToxicityModel, texts: Sequence[str], repeat: int = 3) -> float:
    """Best comments per second over ``repeat`` passes of ``score_batch``."""
    best = math.inf
    for _ in range(repeat):
        began = time.perf_counter()
        model.score_batch(texts)
        best = min(best, time.perf_counter() - began)
    return len(texts) / best


def _bench(argv: Sequence[str]) -> None:
    """Print load time and one-core speed: ``python -m civil.toxicity.linear [JSONL] [MODEL_DIR]``.

    Run it under ``taskset -c 0`` to hold it to one core; texts come from a JSONL file with a
    ``text`` field (default: the prepared test split).
    """
    source = Path(argv[0]) if argv else DEFAULT_DIR.parents[1] / "var/toxicity-data/test.jsonl"
    model_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_DIR
    from civil.toxicity.dataset import read_dataset

    texts = read_dataset(source, limit=5000).texts
    began = time.perf_counter()
    model = LinearToxicityModel.load(model_dir)
    loaded = time.perf_counter() - began
    speed = measure_speed(model, texts)
    size = (model_dir / WEIGHTS_FILE).stat().st_size / 1e6
    chars = sum(map(len, texts)) / len(texts)
    print(
        f"load {loaded:.3f}s, weights {size:.1f} MB, {speed:,.0f} comments/s "
        f"({len(texts)} comments, mean {chars:.0f} chars)"
    )


__all__ = ["FeatureConfig", "Featurizer", "LinearToxicityModel", "load_default"]

if __name__ == "__main__":
    import sys

    _bench(sys.argv[1:])
