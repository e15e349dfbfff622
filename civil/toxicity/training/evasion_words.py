"""Build ``models/evasion_words.txt``: the abusive words a misspelled token may become.

The normaliser (``civil/textnorm.py``, stage 4) corrects an unknown token one edit away from
one of these words (``idot`` -> ``idiot``) and splits a token that glues an English word to
one (``anidiot``). The list is derived from the prepared TRAIN split, not written by hand,
and not taken from the functional suite's word lists (that would grade our own exam):

- English rows of ``train.jsonl``; a word counts once per comment (lower-cased letters).
- Pooled log-odds of a comment holding the word being toxic rather than clean, ``>= 2.0``
  (about 7 times the odds), with the word in at least ``MIN_TOXIC`` toxic comments.
- The same log-odds within each source (Mantel-Haenszel across the sources that have both
  classes) ``>= 1.0``: Twitter-only sources are mostly toxic, so without this their handles,
  slang and topics ("alaska", "trump" in toxic Civil Comments) would look abusive.
- A word of symspellpy's English dictionary (no handles, no slang spellings), 4+ letters.

Then the lexicon of ``civil/textnorm.py`` (its words of 4+ letters) is added.

``python -m civil.toxicity.training.evasion_words [TRAIN_JSONL] [OUT]``

``python -m civil.toxicity.training.evasion_words --check SPLIT.jsonl...`` measures false
corrections instead: over the clean rows, how many word tokens stage 4 changes, with each
change printed.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from civil.textnorm import EVASION_WORDS_PATH, LEXICON, english_words, normalize
from civil.toxicity.training.data import DEFAULT_OUT

MIN_TOXIC = 20
MIN_POOLED_LOG_ODDS = 2.0
MIN_STRATIFIED_LOG_ODDS = 1.0
MIN_LENGTH = 4
_WORD = re.compile(r"[a-z]+")
_TOKEN = re.compile(r"[A-Za-z]+")
# Added to every cell of a 2x2 table, so a word never seen in clean comments has a finite ratio.
_SMOOTH = 0.5


class Counts:
    """Per source: comments, and comments holding each word, for toxic and clean rows."""

    def __init__(self) -> None:
        self.comments: Counter[tuple[str, int]] = Counter()
        self.words: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)

    def add(self, text: str, source: str, toxic: int) -> None:
        self.comments[source, toxic] += 1
        self.words[source, toxic].update(set(_WORD.findall(text.lower())))

    def sources(self) -> list[str]:
        return sorted({source for source, _ in self.comments})

    def total(self, toxic: int, word: str | None = None) -> int:
        """Comments of the class (holding ``word``, when given) over all sources."""
        if word is None:
            return sum(n for (_, cls), n in self.comments.items() if cls == toxic)
        return sum(c[word] for (_, cls), c in self.words.items() if cls == toxic)


def read_counts(path: Path) -> Counts:
    """Word counts of the English rows of a prepared split (labels.toxicity known)."""
    counts = Counts()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            toxic = row["labels"].get("toxicity")
            if row.get("lang") == "en" and toxic is not None:
                counts.add(row["text"], row["source"], int(toxic))
    return counts


def log_odds(a: float, b: float, c: float, d: float) -> float:
    """Log odds ratio of a 2x2 table: toxic with/without the word (a, b), clean (c, d)."""
    return math.log((a + _SMOOTH) * (d + _SMOOTH) / ((b + _SMOOTH) * (c + _SMOOTH)))


def pooled_log_odds(counts: Counts, word: str) -> float:
    toxic, clean = counts.total(1, word), counts.total(0, word)
    return log_odds(toxic, counts.total(1) - toxic, clean, counts.total(0) - clean)


def stratified_log_odds(counts: Counts, word: str) -> float:
    """Mantel-Haenszel log odds ratio over the sources holding both toxic and clean rows."""
    numerator = denominator = 0.0
    for source in counts.sources():
        n_toxic, n_clean = counts.comments[source, 1], counts.comments[source, 0]
        if not n_toxic or not n_clean:
            continue
        a, c = counts.words[source, 1][word], counts.words[source, 0][word]
        b, d = n_toxic - a, n_clean - c
        n = n_toxic + n_clean
        numerator += (a + _SMOOTH) * (d + _SMOOTH) / n
        denominator += (b + _SMOOTH) * (c + _SMOOTH) / n
    return math.log(numerator / denominator) if denominator else 0.0


def select(counts: Counts, english: frozenset[str]) -> list[tuple[str, int, int, float, float]]:
    """(word, toxic comments, clean comments, pooled, stratified log-odds) for chosen words."""
    toxic_words: Counter[str] = Counter()
    for (_, cls), words in counts.words.items():
        if cls == 1:
            toxic_words.update(words)
    chosen = []
    for word, n_toxic in toxic_words.items():
        if n_toxic < MIN_TOXIC or len(word) < MIN_LENGTH or word not in english:
            continue
        pooled = pooled_log_odds(counts, word)
        if pooled < MIN_POOLED_LOG_ODDS:
            continue
        stratified = stratified_log_odds(counts, word)
        if stratified >= MIN_STRATIFIED_LOG_ODDS:
            chosen.append((word, n_toxic, counts.total(0, word), pooled, stratified))
    return sorted(chosen, key=lambda row: -row[3])


def build(train: Path, out: Path) -> list[str]:
    """Write the word list (data-derived words, then lexicon additions) and return it."""
    chosen = select(read_counts(train), english_words())
    derived = [word for word, *_ in chosen]
    lexicon = sorted(
        {w for w in LEXICON if len(w) >= MIN_LENGTH and w.isascii() and w not in derived}
    )
    header = [
        "# Abusive words a misspelled or glued token may be corrected to (civil/textnorm.py).",
        "# Built by `python -m civil.toxicity.training.evasion_words` from "
        f"{train.name}: English rows,",
        f"# word in >= {MIN_TOXIC} toxic comments, pooled toxic-vs-clean log-odds >= "
        f"{MIN_POOLED_LOG_ODDS}, per-source",
        f"# (Mantel-Haenszel) log-odds >= {MIN_STRATIFIED_LOG_ODDS}, an English dictionary "
        f"word of >= {MIN_LENGTH} letters: {len(derived)} words;",
        f"# then {len(lexicon)} more from textnorm.LEXICON (4+ letters).",
    ]
    out.write_text("\n".join(header + sorted(derived) + lexicon) + "\n", encoding="utf-8")
    for word, n_toxic, n_clean, pooled, stratified in chosen:
        print(f"{word:16} toxic {n_toxic:5} clean {n_clean:5} {pooled:5.2f} {stratified:5.2f}")
    return derived + lexicon


def false_corrections(paths: list[Path]) -> tuple[int, int, int, int]:
    """(clean comments, their word tokens, tokens stage 4 changed, comments changed)."""
    comments = tokens = changed = changed_comments = 0
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if row["labels"].get("toxicity") != 0:
                    continue
                before = normalize(row["text"], typos=False).text
                after = normalize(row["text"]).text
                words = _TOKEN.findall(before)
                comments += 1
                tokens += len(words)
                if after == before:
                    continue
                changed_comments += 1
                new_words = _TOKEN.findall(after)
                matcher = difflib.SequenceMatcher(None, words, new_words, autojunk=False)
                for op, i1, i2, j1, j2 in matcher.get_opcodes():
                    if op != "equal":
                        changed += i2 - i1
                        was, now = " ".join(words[i1:i2]), " ".join(new_words[j1:j2])
                        print(f"{row['lang']} {was} -> {now}")
    return comments, tokens, changed, changed_comments


def main(argv: list[str]) -> None:
    if argv[:1] == ["--check"]:
        comments, tokens, changed, changed_comments = false_corrections([Path(a) for a in argv[1:]])
        print(
            f"{comments} clean comments, {tokens} word tokens: {changed} changed "
            f"({changed / max(tokens, 1):.6f}), in {changed_comments} comments"
        )
        return
    train = Path(argv[0]) if argv else DEFAULT_OUT / "train.jsonl"
    out = Path(argv[1]) if len(argv) > 1 else EVASION_WORDS_PATH
    words = build(train, out)
    print(f"{len(words)} words -> {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
