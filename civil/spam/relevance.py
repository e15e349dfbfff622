"""How much a comment is about its article: IDF-weighted cosine of their content words.

Words are the crude stems of ``features.content_words``, hashed (CRC-32) into ``2**IDF_BITS``
buckets; each bucket's inverse document frequency was counted on real comments and messages
at training time (``civil.spam.training.train.build_idf``) and ships as ``idf.npz`` beside the
text model. Without that file every word weighs the same (plain term-frequency cosine).
A term's weight is ``(1 + ln tf) * idf``, so a comment repeating one word cannot look on-topic.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

IDF_BITS = 16
IDF_FILE = "idf.npz"
DEFAULT_IDF = Path(__file__).resolve().parents[2] / "models" / "spam" / IDF_FILE


def bucket(word: str) -> int:
    """The IDF bucket of one (stemmed) word; stable across processes and machines."""
    return zlib.crc32(word.encode("utf-8")) & ((1 << IDF_BITS) - 1)


class Idf:
    """One IDF table; hashed by identity, so caches keyed on it stay per table."""

    __slots__ = ("weights",)

    def __init__(self, weights: np.ndarray) -> None:
        """Wrap ``2**IDF_BITS`` per-bucket weights."""
        if weights.shape != (1 << IDF_BITS,):
            raise ValueError(f"expected {1 << IDF_BITS} IDF buckets, found {weights.shape}")
        self.weights = weights.astype(np.float32)


def read_idf(path: Path) -> Idf | None:
    """The IDF table in ``path``, or None when the file is absent (every word weighs 1)."""
    if not path.exists():
        return None
    with np.load(path) as data:
        return Idf(data["idf"])


@lru_cache(maxsize=1)
def load_idf() -> Idf | None:
    """The shipped IDF table, read once per process."""
    return read_idf(DEFAULT_IDF)


def idf_table(documents: Iterable[Sequence[str]]) -> Idf:
    """Smoothed IDF per bucket, ``ln((1 + n) / (1 + df)) + 1``, of word lists (one per text)."""
    df = np.zeros(1 << IDF_BITS, dtype=np.int64)
    n = 0
    for words in documents:
        n += 1
        for b in {bucket(w) for w in words}:
            df[b] += 1
    return Idf((np.log((1 + n) / (1 + df)) + 1.0).astype(np.float32))


def save_idf(idf: Idf, path: Path) -> None:
    """Write the table as float16 (compressed, no pickle)."""
    np.savez_compressed(path, idf=idf.weights.astype(np.float16))


def vector(words: Sequence[str], idf: Idf | None) -> dict[int, float]:
    """Sparse ``(1 + ln tf) * idf`` weights of a word list, by bucket."""
    counts = Counter(bucket(w) for w in words)
    if idf is None:
        return {b: 1.0 + math.log(c) for b, c in counts.items()}
    weights = idf.weights
    return {b: (1.0 + math.log(c)) * float(weights[b]) for b, c in counts.items()}


def norm(vec: dict[int, float]) -> float:
    """Euclidean length of a sparse vector."""
    return math.sqrt(sum(v * v for v in vec.values()))


def cosine(a: dict[int, float], b: dict[int, float], b_norm: float | None = None) -> float:
    """Cosine similarity of two sparse vectors (0 when either is empty)."""
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    dot = sum(v * large.get(k, 0.0) for k, v in small.items())
    denominator = norm(a) * (b_norm if b_norm is not None else norm(b))
    return dot / denominator if denominator else 0.0
