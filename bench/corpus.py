"""A large, varied bench corpus from ``../shared/data``, written to a temp file for one run.

``bench/data/comments.jsonl`` holds 740 real comments; a 10,000-comment burst posted from it
sends every text ~13 times, so the near-duplicate index finds copies and the spam scorer sees a
flood that real traffic would not send. ``build`` makes as many *distinct* real comments as the
shared data allows (about 12,000) and writes them, shuffled, to a JSON-lines file:

- every English comment of the prepared **test and validation** splits (the shipped models
  never trained on them, so the cascade escalates as it would on new traffic): Wikipedia
  talk pages (Jigsaw), Civil Comments news comments, tweets; 20 to 1,500 characters;
- the spam class of the YouTube and SMS spam collections, so ~8 % of the corpus is spam;
- the 740 bundled comments (news comments, long talk-page comments, spam).

It runs the same preparation as ``civil models prepare-data`` (same dedup, same seeded split)
into a temporary folder, ~15 s. Benches only: the product never reads ``../shared``.
"""

from __future__ import annotations

import csv
import json
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BUNDLED = ROOT / "bench" / "data" / "comments.jsonl"
MIN_CHARS, MAX_CHARS = 20, 1500
SPAM_SHARE = 0.08


def _held_out(toxicity_root: Path) -> Iterator[tuple[str, str]]:
    """(kind, text) of the English rows the prepared test and validation splits hold."""
    from civil.toxicity.training import data

    with tempfile.TemporaryDirectory(prefix="civil-corpus-") as out:
        data.prepare(Path(out), toxicity_root)
        for split in ("test", "valid"):
            lines = (Path(out) / f"{split}.jsonl").read_text(encoding="utf-8").split("\n")
            for row in map(json.loads, filter(None, lines)):
                if row.get("lang", "en") == "en":
                    yield ("long" if len(row["text"]) > 700 else "comment"), row["text"]


def _spam(spam_root: Path) -> Iterator[str]:
    for path in sorted((spam_root / "youtube").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row["CLASS"] == "1":
                    yield row["CONTENT"]
    with (spam_root / "sms" / "SMSSpamCollection.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t"):
            if row and row[0] == "spam":
                yield row[1]


def collect(shared: Path = SHARED) -> tuple[list[dict], list[dict]]:
    """Distinct (comments, spam) rows of the shared data and the bundled file."""
    seen: set[str] = set()

    def fresh(text: str) -> bool:
        key = " ".join(text.lower().split())
        if not MIN_CHARS <= len(text) <= MAX_CHARS or key in seen:
            return False
        seen.add(key)
        return True

    comments: list[dict] = []
    spam: list[dict] = []
    with BUNDLED.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                if fresh(row["text"]):
                    (spam if row["kind"] == "spam" else comments).append(row)
    for kind, text in _held_out(shared / "toxicity"):
        if fresh(text):
            comments.append({"kind": kind, "text": text})
    for text in _spam(shared / "spam"):
        if fresh(text):
            spam.append({"kind": "spam", "text": text})
    return comments, spam


def mix(comments: list[dict], spam: list[dict], n: int, seed: int = 13) -> list[dict]:
    """``n`` rows (fewer when the data has fewer), ~``SPAM_SHARE`` of them spam, shuffled."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    want_spam = min(len(spam), round(n * SPAM_SHARE))
    rows = rng.sample(spam, want_spam) + rng.sample(comments, min(len(comments), n - want_spam))
    rng.shuffle(rows)
    return rows


def build(n: int, directory: Path, shared: Path = SHARED) -> Path:
    """Write the corpus for ``n`` comments to ``directory/corpus.jsonl``; its path."""
    comments, spam = collect(shared)
    rows = mix(comments, spam, n)
    path = directory / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path
