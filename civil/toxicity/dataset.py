"""The labelled JSONL splits (``prepare-data`` writes them): the one reader of that format.

A row is ``{"text", "labels": {label: 0|1|null}, "source", "lang"}``; a ``null`` (or absent)
label is unknown for that row and becomes NaN in the label matrix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from civil.scoring import TOXICITY_LABELS


@dataclass
class Dataset:
    """Texts with an (N, 6) float32 label matrix, NaN where a label is unknown."""

    texts: list[str]
    labels: np.ndarray
    sources: list[str]
    langs: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def known(self) -> np.ndarray:
        return ~np.isnan(self.labels)

    def subset(self, rows: Sequence[int]) -> Dataset:
        """The given rows, in the given order."""
        return Dataset(
            [self.texts[i] for i in rows],
            self.labels[list(rows)],
            [self.sources[i] for i in rows],
            [self.langs[i] for i in rows],
        )


def read_dataset(path: Path, langs: Sequence[str] | None = None, limit: int = 0) -> Dataset:
    """Read a JSONL split; keep the rows in ``langs`` (all if None), at most ``limit``."""
    texts: list[str] = []
    rows: list[list[float]] = []
    sources: list[str] = []
    row_langs: list[str] = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            lang = record.get("lang", "en")
            if langs is not None and lang not in langs:
                continue
            labels = record.get("labels") or {}
            values = [labels.get(label) for label in TOXICITY_LABELS]
            texts.append(str(record["text"]))
            rows.append([math.nan if value is None else float(value) for value in values])
            sources.append(str(record.get("source", "")))
            row_langs.append(lang)
            if limit and len(texts) >= limit:
                break
    matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(TOXICITY_LABELS))
    return Dataset(texts, matrix, sources, row_langs)
