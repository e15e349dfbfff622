"""Undo spam evasions: Unicode tricks, look-alike letters and spelled-out or bracketed URLs.

Spammers write ``example[.]com``, ``example (dot) com``, ``w w w . example . com`` or
``hxxp://`` so link counters miss them, and hide words behind zero-width characters or
Cyrillic look-alikes so text models miss them. ``clean`` undoes all of that; the result is what
every spam signal and the text model read, so an evasion can only raise the score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Private helpers of the toxicity normaliser: the same NFKC/invisible/confusable tables, so
# both scorers agree on what a character is.
from civil.textnorm import _confusable_stage, _unicode_stage, normalize_text


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Top-level domains a bracketed or spelled-out dot may precede. Joining only before a known
# TLD keeps ordinary sentences ("the end. com­ments...") from turning into domains.
TLDS = _words(
    """
    com net org info biz io co us uk de fr ru cn in me ly tv cc ws xyz top site online
    shop store club live life today click link win loan work fun space website tech pro
    app dev ai vip bid icu buzz cam gq ml tk cf ga pw su eu nl ca au br it es pl ua kz
    """
)
# After a bare " . " or ". " only TLDs that are not English words count ("us. Me" is prose).
_STRICT_TLDS = ("com", "net", "org", "info", "biz", "ru", "xyz", "top", "io", "ly", "cn", "uk")


def _alternation(words: object) -> str:
    return "|".join(sorted(words, key=len, reverse=True))  # type: ignore[call-overload]


_LABELS = r"[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*"
# Both patterns below start a domain only where a run of label characters starts (hence "-"
# in the look-behind): from every letter of "a-a-a-..." the scan would reach the run's end.
_BRACKET_DOT = r"\s*[\[\(\{<]\s*(?:\.|dot)\s*[\]\)\}>]\s*|\s+dot\s+"
_OBFUSCATED_DOT = re.compile(
    rf"(?<![\w.@-])({_LABELS})(?:{_BRACKET_DOT})((?:{_LABELS}\.)?(?:{_alternation(TLDS)}))\b",
    re.IGNORECASE,
)
_SPACED_DOT = re.compile(
    rf"(?<![\w.@-])({_LABELS})(?:\s+\.\s*|\.\s+)"
    rf"((?:{_LABELS}\.)?(?-i:{_alternation(_STRICT_TLDS)}))\b(?!\.\w)",
    re.IGNORECASE,
)
_OBFUSCATED_WWW = re.compile(
    r"\bw\s*w\s*w\s*(?:[\[\(]\s*(?:\.|dot)\s*[\]\)]|\s+dot\s+|\s*\.\s*)", re.IGNORECASE
)
_HXXP = re.compile(r"\bh[xX*]{2}p(s?)(?:\[:\]|:)//", re.IGNORECASE)
_SPACED_SCHEME = re.compile(r"\bh\s+t\s+t\s+p\s*(s?)\s*:\s*/\s*/\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Cleaned:
    """A comment's text after undoing evasions, and what had to be undone."""

    text: str  # Unicode-clean, URLs restored: what link and context signals read
    model_text: str  # plus the toxicity normaliser's spelling fixes: what the text model reads
    obfuscated_links: int  # URLs that were bracketed, spelled out or hxxp'd
    unicode_tricks: bool  # invisible characters or look-alike letters inside words


def unicode_clean(text: str) -> str:
    """NFKC, invisible characters removed, look-alike letters made Latin inside Latin words."""
    if text.isascii():
        return text
    return _confusable_stage(_unicode_stage(text)[0])


def _unicode_only(text: str) -> str:
    return text if text.isascii() else _unicode_stage(text)[0]


def restore_urls(text: str) -> tuple[str, int]:
    """Rewrite obfuscated URLs as plain ones; return the text and how many were rewritten."""
    count = 0

    def _plain_scheme(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"http{match.group(1).lower()}://"

    text = _HXXP.sub(_plain_scheme, text)
    text = _SPACED_SCHEME.sub(_plain_scheme, text)
    if _OBFUSCATED_WWW.search(text) and not re.search(r"\bwww\.", text):
        text, n = _OBFUSCATED_WWW.subn("www.", text)
        count += n
    # A domain can have several obfuscated dots ("shop (dot) example (dot) com").
    for pattern in (_OBFUSCATED_DOT, _SPACED_DOT):
        for _ in range(4):
            text, n = pattern.subn(lambda m: f"{m.group(1)}.{m.group(2)}", text)
            if not n:
                break
            count += n
    return text, count


# Invisible format characters, and letters styled to dodge filters (full-width, circled,
# mathematical alphanumerics): NFKC maps the styled ones back to ASCII.
# Only inside a word: a byte-order mark or joiner at the start or between emoji is an
# artifact of the poster's software, not an evasion.
_INVISIBLE = re.compile(
    "(?<=\\w)[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]+(?=\\w)"
)
_STYLED = re.compile("[\uff21-\uff3a\uff41-\uff5a\u24b6-\u24e9\U0001d400-\U0001d7ff]")


def _has_tricks(original: str, unicode_text: str) -> bool:
    """Invisible characters, styled letters or look-alikes inside words."""
    if original.isascii():
        return False
    if _INVISIBLE.search(original) or _STYLED.search(original):
        return True
    return _confusable_stage(unicode_text) != unicode_text


def clean(text: str) -> Cleaned:
    """Undo every evasion ``text`` uses (see the module docstring)."""
    nfkc = _unicode_only(text)
    unicode_text = nfkc if nfkc.isascii() else _confusable_stage(nfkc)
    restored, obfuscated = restore_urls(unicode_text)
    return Cleaned(
        text=restored,
        model_text=normalize_text(restored),
        obfuscated_links=obfuscated,
        unicode_tricks=_has_tricks(text, nfkc),
    )
