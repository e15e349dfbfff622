"""Mask article text a comment quotes, so readers are not held toxic for the news they cite.

News about terrorism and genocide is quoted all day; the words a comment copies from the
article (its inline-feedback passage, or any long enough run of the article's words) are
blanked out before scoring. Masking replaces characters with spaces, so every offset into the
masked text is still an offset into the comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\w+", re.UNICODE)
# Runs shorter than this are ordinary shared vocabulary, not a quotation.
MIN_QUOTED_WORDS = 5


@dataclass(frozen=True)
class Masked:
    text: str
    spans: list[tuple[int, int]]

    @property
    def masked_chars(self) -> int:
        return sum(end - start for start, end in self.spans)


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).casefold(), m.start(), m.end()) for m in _WORD.finditer(text)]


def _quoted_runs(comment: str, source: str, min_words: int) -> list[tuple[int, int]]:
    """Character spans of the comment that repeat >= min_words consecutive words of source."""
    words = _words(comment)
    source_words = [w for w, _, _ in _words(source)]
    if len(words) < min_words or len(source_words) < min_words:
        return []
    grams = {
        tuple(source_words[i : i + min_words]) for i in range(len(source_words) - min_words + 1)
    }
    covered = [False] * len(words)
    for i in range(len(words) - min_words + 1):
        if tuple(w for w, _, _ in words[i : i + min_words]) in grams:
            for k in range(i, i + min_words):
                covered[k] = True
    spans: list[tuple[int, int]] = []
    for index, (_, start, end) in enumerate(words):
        if not covered[index]:
            continue
        if spans and index > 0 and covered[index - 1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mask_quotes(
    comment: str,
    *,
    inline_quote: str | None,
    article_text: str | None,
    min_words: int = MIN_QUOTED_WORDS,
) -> Masked:
    """Blank out what the comment quotes from its inline passage or from the article."""
    spans: list[tuple[int, int]] = []
    if inline_quote and inline_quote.strip():
        spans += _quoted_runs(comment, inline_quote, min(min_words, len(_words(inline_quote))))
    if article_text:
        spans += _quoted_runs(comment, article_text, min_words)
    spans = _merge(spans)
    if not spans:
        return Masked(comment, [])
    chars = list(comment)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return Masked("".join(chars), spans)
