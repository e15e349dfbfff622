"""Undo common evasions before scoring, keeping a map back to the original characters.

``normalize(text)`` applies, in order:

1. Unicode: NFKC per character (full-width, math-alphanumeric, circled and ligature forms),
   removal of zero-width/invisible/format characters, and removal of combining marks stacked
   on Latin letters (Zalgo text). Precomposed accented letters are kept (German, French...).
2. Confusables: Cyrillic/Greek/IPA look-alikes become Latin letters inside words that mix
   them with Latin letters, or in words made only of look-alikes when the text has no other
   Cyrillic/Greek letters (so real Russian or Greek text is left alone).
3. Evasive spelling: spaced or dotted letters (``i d i o t``, ``i.d.i.o.t``) are joined;
   leetspeak and masking (``1d10t``, ``$h1t``, ``f@ck``, ``f*ck``) are resolved against a
   small lexicon of abusive words, and otherwise only where the symbols sit between letters
   (``n00b``); runs of three or more equal letters shrink to one inside a lexicon word
   (``stuuuupid``) and to two elsewhere. URLs, e-mail addresses, numbers (``5-2``), ordinals
   (``2nd``) and identifiers (``mp3``, ``covid19``) are left as they are.
4. Misspelled abuse, in text that is mostly English words: a token that is no English word
   becomes the one abusive word it spells with two letters swapped or one dropped, first and
   last letters kept (``iidot``, ``idot``, ``mroon``), or is split where it glues an English
   word to an abusive one (``anidiot``, ``youidiot``). English words are symspellpy's bundled
   frequency dictionary; the abusive words are ``models/evasion_words.txt``, built from the
   training data by ``civil.toxicity.training.evasion_words``. Capitalised words inside a
   sentence (names), acronyms, CamelCase identifiers, and tokens in URLs, handles or
   hyphenated compounds are left alone.

Case is preserved (cased models use it). The result carries offset maps so a span found on
the normalised text maps back to character offsets in the original: ``Normalized.span``.
Plain ASCII text without suspicious patterns takes a fast path and comes back unchanged.
"""

from __future__ import annotations

import os
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from symspellpy import SymSpell, Verbosity

# Invisible characters that are not category Cf (which is removed wholesale).
_INVISIBLE_EXTRA = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e"
    "\u2800\u3164\uffa0" + "".join(map(chr, range(0xFE00, 0xFE10)))
)
_KEEP_CONTROLS = frozenset("\t\n\r")
# Look-alike letters by Unicode name: (name prefix, {rest of the name: Latin letter}).
_CONFUSABLE_NAMES: tuple[tuple[str, dict[str, str]], ...] = (
    (
        "CYRILLIC SMALL LETTER",
        {
            "A": "a",
            "VE": "b",
            "IE": "e",
            "IO": "e",
            "KA": "k",
            "EM": "m",
            "EN": "h",
            "O": "o",
            "PE": "n",
            "ER": "p",
            "ES": "c",
            "TE": "t",
            "U": "y",
            "HA": "x",
            "DZE": "s",
            "BYELORUSSIAN-UKRAINIAN I": "i",
            "YI": "i",
            "JE": "j",
            "KOMI DE": "d",
            "QA": "q",
            "WE": "w",
            "PALOCHKA": "l",
            "SHHA": "h",
            "SOFT SIGN": "b",
            "GHE": "r",
        },
    ),
    (
        "CYRILLIC CAPITAL LETTER",
        {
            "A": "A",
            "VE": "B",
            "IE": "E",
            "IO": "E",
            "KA": "K",
            "EM": "M",
            "EN": "H",
            "O": "O",
            "ER": "P",
            "ES": "C",
            "TE": "T",
            "U": "Y",
            "HA": "X",
            "DZE": "S",
            "BYELORUSSIAN-UKRAINIAN I": "I",
            "YI": "I",
            "JE": "J",
            "KOMI DE": "D",
            "QA": "Q",
            "WE": "W",
            "SHHA": "H",
            "SOFT SIGN": "b",
        },
    ),
    (
        "GREEK SMALL LETTER",
        {
            "ALPHA": "a",
            "GAMMA": "y",
            "EPSILON": "e",
            "ETA": "n",
            "IOTA": "i",
            "KAPPA": "k",
            "NU": "v",
            "OMICRON": "o",
            "RHO": "p",
            "TAU": "t",
            "UPSILON": "u",
            "CHI": "x",
            "OMEGA": "w",
        },
    ),
    (
        "GREEK CAPITAL LETTER",
        {
            "ALPHA": "A",
            "BETA": "B",
            "EPSILON": "E",
            "ZETA": "Z",
            "ETA": "H",
            "IOTA": "I",
            "KAPPA": "K",
            "MU": "M",
            "NU": "N",
            "OMICRON": "O",
            "RHO": "P",
            "TAU": "T",
            "UPSILON": "Y",
            "CHI": "X",
        },
    ),
    ("LATIN LETTER SMALL CAPITAL", {c: c.lower() for c in "ABCDEGHIJKLMNOPRSTUVWYZ"}),
    (
        "LATIN SMALL LETTER",
        {
            "ALPHA": "a",
            "SCRIPT G": "g",
            "DOTLESS I": "i",
            "DOTLESS J": "j",
            "IOTA": "i",
            "O WITH STROKE": "o",
            "L WITH STROKE": "l",
            "D WITH STROKE": "d",
            "H WITH STROKE": "h",
        },
    ),
    (
        "",
        {
            "CYRILLIC LETTER PALOCHKA": "I",
            "GREEK LUNATE SIGMA SYMBOL": "c",
            "GREEK LETTER YOT": "j",
            "GREEK CAPITAL LUNATE SIGMA SYMBOL": "C",
            "LATIN CAPITAL LETTER O WITH STROKE": "O",
            "LATIN CAPITAL LETTER L WITH STROKE": "L",
        },
    ),
)
_CONFUSABLES = {
    unicodedata.lookup(f"{prefix} {name}".strip()): latin
    for prefix, names in _CONFUSABLE_NAMES
    for name, latin in names.items()
}
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)
_HAS_CONFUSABLE = re.compile("[" + "".join(sorted(_CONFUSABLES)) + "]")
# Cyrillic or Greek letters that look like no Latin letter: their presence means real text.
_FOREIGN_LETTER = re.compile(
    "(?![" + "".join(sorted(_CONFUSABLES)) + "])[\u0370-\u03ff\u0400-\u04ff]"
)
_WORD = re.compile(r"[^\W_]+")
_ASCII_LETTER = re.compile("[A-Za-z]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")

# Which characters can stand for each letter (leetspeak), and which mask any letter.
_LEET_FOR = {
    "a": "4@^",
    "b": "8",
    "e": "3€",
    "g": "96",
    "i": "1!|",
    "l": "1|!",
    "o": "0@",
    "s": "5$",
    "t": "7+",
    "u": "@",
}
_WILDCARDS = "*#%"
_LEET_CHARS = "".join(sorted(set("".join(_LEET_FOR.values())))) + _WILDCARDS
# Where no lexicon word matches, symbols between letters still read as these letters.
_INTERIOR_LEET = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "@": "a",
    "$": "s",
    "€": "e",
}
# Abusive words people disguise, commonest first; sorted (stably) longer first so "fucking"
# wins over "fuck" and a mask picks the commoner word of a length ("f***" is "fuck").
_LEXICON_WORDS = """
fuck fucking fucker fuckers fucked fuckin fuckwit motherfucker motherfucking shit shits shitty
shithead bullshit bitch bitches bitchy bastard bastards ass asses asshole assholes arse arsehole
dick dicks dickhead cock cocks cocksucker cunt cunts pussy pussies whore whores slut sluts fag
fags faggot faggots retard retards retarded idiot idiots idiotic stupid stupidity moron morons
moronic dumb dumbass loser losers jerk twat wanker wankers prick pricks nigger niggers nigga
niggas kike spic chink tranny dyke homo kill killed killing die rape raped rapist suck sucks
sucker scum trash hoe hoes crap damn piss pissed nazi nazis ugly imbecile cretin douche
douchebag bollocks bugger penis porn hate hater pedo pedophile jackass dipshit shitface
scheisse scheiße arschloch fotze wichser hure hurensohn schlampe missgeburt spast spasti
vollidiot penner kanake idioten dummkopf
"""
LEXICON: tuple[str, ...] = tuple(
    sorted(dict.fromkeys(_LEXICON_WORDS.split()), key=len, reverse=True)
)


def _letter_class(letter: str) -> str:
    """A regex class matching the letter, its leet stand-ins and the mask characters."""
    return "[" + re.escape(letter + _LEET_FOR.get(letter, "") + _WILDCARDS) + "]"


def _trie_pattern(words: list[str]) -> str:
    """One regex for all words, shared prefixes factored out so a miss fails fast.

    Branches keep the words' priority order and a word ending is tried after its longer
    continuations, so the commonest, longest word wins.
    """
    children: dict[str, list[str]] = {}
    ends = False
    for word in words:
        if word:
            children.setdefault(word[0], []).append(word[1:])
        else:
            ends = True
    if not children:
        return ""
    branches = [_letter_class(first) + _trie_pattern(rest) for first, rest in children.items()]
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if ends else body


_LEXICON_RE = re.compile(_trie_pattern(sorted(LEXICON, key=LEXICON.index)), re.IGNORECASE)
_LEXICON_SET = frozenset(LEXICON)
_LEXICON_BY_LENGTH: dict[int, list[str]] = {}
for _word in LEXICON:
    _LEXICON_BY_LENGTH.setdefault(len(_word), []).append(_word)
_TOKEN_CHARS = r"[^\W_]|[" + re.escape(_LEET_CHARS) + "]"
_TOKEN_REST = re.compile(f"(?:{_TOKEN_CHARS})*")
_TOKEN_CHAR = re.compile(f"(?:{_TOKEN_CHARS})")
_UNIT = r"(?:[^\W_]|[@$!])"
# Three or more single characters with the same separator, after a space or an opening mark
# (searched on " " + text so the start of the text counts as a space).
_SPACED = re.compile(
    rf"[\s(\"\[]{_UNIT}(?P<sep> {{1,3}}|[.\-_*/] ?){_UNIT}(?:(?P=sep){_UNIT})+(?![^\W_])"
)
_SPACED_SEPARATORS = frozenset(" .-_*/")
# A leet or mask character touching a Latin letter, or a run of three equal letters.
_LEET_HIT = re.compile(r"[0-9@$*#%+€!|](?:(?<=[A-Za-z].)|(?=[A-Za-z]))")
_TRIPLE = re.compile(r"([A-Za-z])\1\1")
_PROTECTED = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.-]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_SUFFIXES = frozenset({"", "s", "es", "ed", "er", "ers", "in", "ing", "y"})
_MAX_INTERIOR_RUN = 2

Unit = tuple[str, int, int]  # a character and the [start, end) it came from


@dataclass(frozen=True)
class OffsetMap:
    """Maps positions of a stage's output back to its input, segment by segment.

    Segment k covers output positions [out_starts[k], out_starts[k+1]); when ``exact[k]``
    its characters map one to one onto input positions from ``in_starts[k]``, otherwise
    every character maps to the whole input range [in_starts[k], in_ends[k]).
    """

    out_starts: list[int]
    in_starts: list[int]
    in_ends: list[int]
    exact: list[bool]

    def start(self, pos: int) -> int:
        """Input position where the output character at ``pos`` starts."""
        k = bisect_right(self.out_starts, pos) - 1
        return self.in_starts[k] + (pos - self.out_starts[k] if self.exact[k] else 0)

    def end(self, pos: int) -> int:
        """Input position just after the output character at ``pos``."""
        k = bisect_right(self.out_starts, pos) - 1
        if self.exact[k]:
            return self.in_starts[k] + pos - self.out_starts[k] + 1
        return self.in_ends[k]


class _Builder:
    """Assembles a stage's output text and its OffsetMap from copied and replaced pieces."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.parts: list[str] = []
        self.length = 0
        self.changed = False
        self.map = OffsetMap([], [], [], [])

    def copy(self, start: int, end: int) -> None:
        """Copy source[start:end] unchanged."""
        if end > start:
            self.parts.append(self.source[start:end])
            self._segment(end - start, start, end, exact=True)

    def replace(self, text: str, start: int, end: int) -> None:
        """Emit ``text`` in place of source[start:end] (each character maps to all of it)."""
        self.changed = True
        if text:
            self.parts.append(text)
            self._segment(len(text), start, end, exact=len(text) == end - start)

    def units(self, units: list[Unit]) -> None:
        """Emit characters that each carry their own source range."""
        self.changed = True
        for char, start, end in units:
            self.parts.append(char)
            self._segment(1, start, end, exact=end - start == 1)

    def _segment(self, length: int, start: int, end: int, exact: bool) -> None:
        m = self.map
        if (
            exact
            and m.exact
            and m.exact[-1]
            and m.in_ends[-1] == start
            and m.in_ends[-1] - m.in_starts[-1] == self.length - m.out_starts[-1]
        ):
            m.in_ends[-1] = end  # continues the previous one-to-one segment
        else:
            m.out_starts.append(self.length)
            m.in_starts.append(start)
            m.in_ends.append(end)
            m.exact.append(exact)
        self.length += length

    def finish(self) -> tuple[str, OffsetMap | None]:
        """The output text, and its map (None when nothing changed)."""
        if not self.changed:
            return self.source, None
        return "".join(self.parts), self.map


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus what maps it back to ``original``."""

    text: str
    original: str
    maps: tuple[OffsetMap, ...] = field(default=())

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map the half-open span [start, end) of ``text`` to offsets in ``original``."""
        if end <= start:
            return start, start
        lo, hi = start, end - 1
        for offset_map in reversed(self.maps):
            lo, hi = offset_map.start(lo), offset_map.end(hi) - 1
        hi += 1
        # Marks stacked on the last letter were dropped; keep them inside the span.
        while hi < len(self.original) and unicodedata.combining(self.original[hi]):
            hi += 1
        return lo, hi


# Every member of a scorer normalises the same comment (the language router, the linear
# model, the transformer, the threat grammar): a batch's worth of results is kept, so each
# comment is normalised once. ``Normalized`` is immutable, so sharing it is safe.
@lru_cache(maxsize=256)
def normalize(text: str, *, typos: bool = True) -> Normalized:
    """Normalise ``text`` for scoring and keep the map back to it.

    ``typos=False`` skips stage 4 (misspelled abuse): its false corrections are measured
    against that (``civil.toxicity.training.evasion_words --check``).
    """
    maps = []
    current = text
    if not text.isascii():
        current, unicode_map = _unicode_stage(text)
        if unicode_map is not None:
            maps.append(unicode_map)
        current = _confusable_stage(current)
    current, spelling_map = _spelling_stage(current)
    if spelling_map is not None:
        maps.append(spelling_map)
    if typos:
        current, typo_map = _typo_stage(current)
        if typo_map is not None:
            maps.append(typo_map)
    return Normalized(current, text, tuple(maps))


def normalize_text(text: str) -> str:
    """Only the normalised text."""
    return normalize(text).text


@lru_cache(maxsize=8192)
def _map_char(char: str) -> str:
    """What one non-ASCII character becomes; ``"\\0"`` marks a combining mark."""
    category = unicodedata.category(char)
    if category == "Cf" or char in _INVISIBLE_EXTRA:
        return ""
    if category == "Cc":
        return char if char in _KEEP_CONTROLS else ""
    if category in ("Mn", "Me"):
        return "\0"
    mapped = unicodedata.normalize("NFKC", char)
    # Spacing accents (U+00B4, U+00A8) decompose to a space and a mark: keep them as they are.
    if any(unicodedata.combining(ch) for ch in mapped):
        return char
    return mapped


def _unicode_stage(text: str) -> tuple[str, OffsetMap | None]:
    """NFKC per character, invisible characters removed, marks on Latin letters dropped."""
    out = _Builder(text)
    pos = 0
    for run in _NON_ASCII_RUN.finditer(text):
        out.copy(pos, run.start())
        previous = text[run.start() - 1] if run.start() else ""
        for i in range(run.start(), run.end()):
            mapped = _map_char(text[i])
            if mapped == "\0":
                if previous.isascii() and previous.isalpha():
                    out.replace("", i, i + 1)
                    continue
                mapped = text[i]
            if mapped == text[i]:
                out.copy(i, i + 1)
            else:
                out.replace(mapped, i, i + 1)
            previous = mapped[-1:] or previous
        pos = run.end()
    out.copy(pos, len(text))
    return out.finish()


def _confusable_stage(text: str) -> str:
    """Replace look-alike letters with Latin ones (same length, so no map is needed)."""
    if not _HAS_CONFUSABLE.search(text):
        return text
    whole_words = _FOREIGN_LETTER.search(text) is None
    pieces = []
    pos = 0
    for word in _WORD.finditer(text):
        token = word.group()
        if _HAS_CONFUSABLE.search(token) and (whole_words or _ASCII_LETTER.search(token)):
            pieces += [text[pos : word.start()], token.translate(_CONFUSABLE_TABLE)]
            pos = word.end()
    pieces.append(text[pos:])
    return "".join(pieces)


def _spelling_stage(text: str) -> tuple[str, OffsetMap | None]:
    """Join spaced letters, resolve leetspeak and masks, shorten letter runs."""
    candidates = _candidates(text)
    if not candidates:
        return text, None
    out = _Builder(text)
    pos = 0
    for start, end, spaced in candidates:
        units = _units(text, start, end, spaced)
        if spaced and _article_before_word(units):
            # "a s t u p i d": the article stays a word of its own ("a stupid").
            start, units = units[1][1], units[1:]
        fixed = _fix_units(units)
        if spaced and not _acceptable_join(units, fixed):
            continue
        if fixed is None and not spaced:
            continue
        out.copy(pos, start)
        out.units(fixed if fixed is not None else units)
        pos = end
    out.copy(pos, len(text))
    return out.finish()


def _candidates(text: str) -> list[tuple[int, int, bool]]:
    """Sorted, non-overlapping (start, end, spaced) spans stage 3 may rewrite."""
    spans = [(m.start(), m.end() - 1, True) for m in _SPACED.finditer(" " + text)]
    # "!" or "|" after a word is punctuation; only one before a letter counts (b!tch).
    hits = [
        m.start()
        for m in _LEET_HIT.finditer(text)
        if text[m.start()] not in "!|" or text[m.start() + 1 : m.start() + 2].isalpha()
    ]
    hits += [m.start() for m in _TRIPLE.finditer(text)]
    token_end = -1
    for hit in sorted(hits):
        if hit >= token_end:  # one span per token, however many hits it holds
            start, token_end = _token_around(text, hit)
            spans.append((start, token_end, False))
    if not spans:
        return []
    protected = _protected(text)
    # Sorted and non-overlapping, so their ends are sorted too: the one span that can overlap
    # a candidate is the first ending after its start (a scan of all of them per candidate
    # was quadratic: seconds for a long run of "a@b.").
    protected_ends = [p_end for _, p_end in protected]
    chosen: list[tuple[int, int, bool]] = []
    for start, end, spaced in sorted(spans, key=lambda span: (span[0], -span[1])):
        if start >= end or (chosen and start < chosen[-1][1]):
            continue
        first = bisect_right(protected_ends, start)
        if first == len(protected) or protected[first][0] >= end:
            chosen.append((start, end, spaced))
    return chosen


def _token_around(text: str, pos: int) -> tuple[int, int]:
    """The [start, end) of the token (letters, digits, leet characters) holding ``pos``."""
    start = pos
    while start > 0 and _TOKEN_CHAR.match(text, start - 1):
        start -= 1
    rest = _TOKEN_REST.match(text, pos)
    return start, rest.end() if rest else pos + 1


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans of URLs and e-mail addresses, which are never rewritten."""
    if "@" not in text and "://" not in text and "www." not in text:
        return []
    return [match.span() for match in _PROTECTED.finditer(text)]


def _units(text: str, start: int, end: int, spaced: bool) -> list[Unit]:
    """The characters of a candidate, each with its own position; separators dropped."""
    return [
        (text[i], i, i + 1)
        for i in range(start, end)
        if not (spaced and text[i] in _SPACED_SEPARATORS)
    ]


def _article_before_word(units: list[Unit]) -> bool:
    """Spaced letters led by "a" or "I" that spell a lexicon word only without that letter."""
    if len(units) < 4 or units[0][0] not in "aAiI":
        return False

    def spelled(part: list[Unit]) -> str:
        return "".join(ch for ch, _, _ in _collapse_runs(part)).lower()

    return spelled(units[1:]) in _LEXICON_SET and spelled(units) not in _LEXICON_SET


def _acceptable_join(units: list[Unit], fixed: list[Unit] | None) -> bool:
    """Join spaced characters only into a word: two letters, digits only into a lexicon word."""
    letters = sum(ch.isascii() and ch.isalpha() for ch, _, _ in units)
    if letters < 2:
        return False
    if any(ch.isdigit() for ch, _, _ in units):
        return fixed is not None and "".join(ch for ch, _, _ in fixed).lower() in _LEXICON_SET
    return True


def _fix_units(units: list[Unit]) -> list[Unit] | None:
    """Resolve leetspeak, masks and letter runs in one token; None when nothing changes."""
    collapsed = _collapse_runs(units)
    form = "".join(ch for ch, _, _ in collapsed)
    out: list[Unit] = []
    last = 0
    for match in _LEXICON_RE.finditer(form):
        word = _lexicon_word(match.group())
        if not _plausible(form, match, word):
            continue
        upper = all(ch.isupper() for ch in match.group() if ch.isalpha())
        out += _outside_lexicon(collapsed[last : match.start()], units)
        out += [
            (_cased(word[i], ch, upper), start, end)
            for i, (ch, start, end) in enumerate(collapsed[match.start() : match.end()])
        ]
        last = match.end()
    out += _outside_lexicon(collapsed[last:], units)
    if [ch for ch, _, _ in out] == [ch for ch, _, _ in units]:
        return None
    return out


def _lexicon_word(matched: str) -> str:
    """The commonest lexicon word the matched text can stand for."""
    lowered = matched.lower()
    for word in _LEXICON_BY_LENGTH[len(matched)]:
        if all(
            ch == w or ch in _WILDCARDS or ch in _LEET_FOR.get(w, "")
            for ch, w in zip(lowered, word, strict=True)
        ):
            return word
    raise AssertionError(f"no lexicon word for {matched!r}")  # the regex guarantees one


def _plausible(form: str, match: re.Match[str], word: str) -> bool:
    """Whether a lexicon match is a disguised word rather than chance (f** in f**in)."""
    matched = match.group()
    # "!" ending a match is punctuation (work!!! is not "kill").
    if not _ASCII_LETTER.search(matched) or matched.endswith("!"):
        return False
    if not any(ch in _WILDCARDS for ch in matched):
        return True
    # Masks stand for any letter, so they must cover (almost) the whole token.
    before, after = form[: match.start()], form[match.end() :]
    return len(word) >= 4 and not before and after.lower() in _SUFFIXES


def _collapse_runs(units: list[Unit]) -> list[Unit]:
    """Merge each run of three or more equal letters into one unit spanning the run."""
    out: list[Unit] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1][0].lower() == units[i][0].lower():
            j += 1
        if j - i >= 2 and units[i][0].isalpha():
            out.append((units[i][0], units[i][1], units[j][2]))
        else:
            out += units[i : j + 1]
        i = j + 1
    return out


def _outside_lexicon(part: list[Unit], units: list[Unit]) -> list[Unit]:
    """Outside lexicon words: long runs back to two letters, leet between letters resolved."""
    if not part:
        return []
    original = [unit for unit in units if part[0][1] <= unit[1] < part[-1][2]]
    text = "".join(ch for ch, _, _ in units)
    # Colours (#f5fffa), hashtags and handles (#vote5sos, @user1) keep their digits.
    keep_digits = _HEX.fullmatch(text.lstrip("#")) is not None or text[:1] in ("#", "@")
    out: list[Unit] = []
    for k, (ch, start, end) in enumerate(part):
        if end - start >= 4:  # a collapsed run of 4+: keep two letters, both mapping to it
            out += [(ch, start, end), (ch, start, end)]
        elif end - start == 3:  # three equal letters are often real (IEEE, www, XXX)
            out += [unit for unit in original if start <= unit[1] < end]
        elif ch in _INTERIOR_LEET and not keep_digits and _between_letters(part, k):
            out.append((_INTERIOR_LEET[ch], start, end))
        else:
            out.append((ch, start, end))
    if any(ch.isdigit() for ch, _, _ in out):
        # Digits left over mean an identifier or a number (mp3, h1n1): keep the original.
        return original
    return out


def _between_letters(part: list[Unit], k: int) -> bool:
    """Whether part[k] is in a short run of leet characters with letters on both sides."""
    left = k
    while left > 0 and part[left - 1][0] in _INTERIOR_LEET:
        left -= 1
    right = k
    while right + 1 < len(part) and part[right + 1][0] in _INTERIOR_LEET:
        right += 1
    return (
        right - left < _MAX_INTERIOR_RUN
        and left > 0
        and part[left - 1][0].isalpha()
        and right + 1 < len(part)
        and part[right + 1][0].isalpha()
    )


def _cased(letter: str, original: str, upper: bool) -> str:
    """The original letter where there is one, else the lexicon letter in the word's case."""
    if original.isalpha():
        return original
    return letter.upper() if upper else letter


# Stage 4: misspelled and glued abusive words.
# The repository's copy; an installed image reads the one under CIVIL_MODEL_DIR if it is there.
EVASION_WORDS_PATH = Path(__file__).resolve().parents[1] / "models" / "evasion_words.txt"
# A token shorter than this is never corrected: most three-letter typos are one edit away from
# some word, and the short abusive words are in the lexicon's leet/mask handling already.
_MIN_TYPO_LENGTH = 4
# A dropped letter is restored only in words this long: a four-letter word is one letter from
# too much (haute/hate, cudnt/cunt, mdma/mama); it is corrected only from a swap.
_MIN_EDITED_TARGET = 5
# Glued words: the abusive part is at least this long (six when it comes first), the English
# part one of two letters or more, or "a"/"I" (three or more when it comes second).
_MIN_GLUED_PART = 4
_MIN_GLUED_LEADING = 6
# Letters only, not inside a longer word, URL, handle, hashtag, path, hyphenated compound or
# contraction ("don't").
_TYPO_TOKEN = re.compile(r"(?<![\w@#/\\.&'\-])[A-Za-z]+(?![\w@#/\\\-]|['.]\w)")
_LETTER_RUN = re.compile("[a-z]+")
_UPPER = re.compile("[A-Z]")
_LOWER = re.compile("[a-z]")
_SENTENCE_MARKS = frozenset('.!?:;"(\n')


@dataclass(frozen=True)
class _Vocabulary:
    """English words (lower case), the abusive correction targets, and their edit-1 index."""

    english: frozenset[str]
    targets: frozenset[str]
    index: SymSpell


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The lower-case words of symspellpy's bundled English frequency dictionary (82,765)."""
    dictionary = resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    return frozenset(
        line.split(" ", 1)[0] for line in dictionary.read_text(encoding="utf-8").splitlines()
    )


def evasion_words() -> frozenset[str]:
    """The abusive words a misspelled token may be corrected to."""
    return _vocabulary().targets


@lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    """Loaded on first use (about 0.1 s), so importing the module stays cheap."""
    model_dir = os.environ.get("CIVIL_MODEL_DIR")
    path = Path(model_dir or ".") / EVASION_WORDS_PATH.name
    if not model_dir or not path.is_file():
        path = EVASION_WORDS_PATH  # a model folder without the list (tests, a spam-only one)
    targets = frozenset(
        word
        for line in path.read_text(encoding="utf-8").splitlines()
        if (word := line.strip().lower()) and not word.startswith("#")
    )
    index = SymSpell(max_dictionary_edit_distance=1)
    for word in targets:
        index.create_dictionary_entry(word, 1)
    return _Vocabulary(english_words(), targets, index)


def _typo_stage(text: str) -> tuple[str, OffsetMap | None]:
    """Correct misspelled or glued abusive words in English text (the map covers the edits)."""
    vocabulary = _vocabulary()
    # Every token is a run of letters: when no run could be corrected there is nothing to do,
    # found with set operations and the token cache instead of a regex walk (most comments).
    runs = set(_LETTER_RUN.findall(text.lower())).difference(vocabulary.english)
    if not any(map(_fix_token, runs)):
        return text, None
    tokens = list(_TYPO_TOKEN.finditer(text))
    unknown = [m for m in tokens if m.group().lower() not in vocabulary.english]
    # Outside English (German, Spanish...) most words are unknown and some are one edit from
    # an English insult: only text that is mostly English words is corrected.
    if not unknown or 2 * len(unknown) > len(tokens):
        return text, None
    out = _Builder(text)
    pos = 0
    shouted: bool | None = None  # counted once, and only for a text with an unknown acronym
    for match in unknown:
        token = match.group()
        if token.isupper() and len(token) > 1:
            if shouted is None:
                shouted = _shouted(text)
            if not shouted:
                continue  # an acronym (SPLC, MAGA)
        elif not token[1:].islower() and len(token) > 1:
            continue  # capitals inside: a handle or identifier (AjaxSmack, CNTs)
        elif _name_like(text, match):
            continue
        fixed = _fix_token(token.lower())
        if fixed is None:
            continue
        out.copy(pos, match.start())
        if " " in fixed:
            cut = match.start() + fixed.index(" ")
            out.copy(match.start(), cut)
            # The space has no character of its own: it maps with the letter after it.
            out.replace(" " + text[cut], cut, cut + 1)
            out.copy(cut + 1, match.end())
        else:
            out.replace(_recased(fixed, token), match.start(), match.end())
        pos = match.end()
    out.copy(pos, len(text))
    return out.finish()


def _shouted(text: str) -> bool:
    """Whether most letters are capitals: then a word in capitals is no acronym."""
    return len(_UPPER.findall(text)) >= len(_LOWER.findall(text))


def _name_like(text: str, match: re.Match[str]) -> bool:
    """A capitalised word that does not start a sentence is probably a name (Bitsch, Penistone)."""
    token = match.group()
    if not (token[0].isupper() and token[1:].islower()):
        return False
    before = text[max(0, match.start() - 20) : match.start()]
    stripped = before.rstrip()
    if not stripped:
        return match.start() > len(before)  # only spaces back to the start: a sentence start
    return stripped[-1] not in _SENTENCE_MARKS and "\n" not in before[len(stripped) :]


@lru_cache(maxsize=65536)
def _fix_token(token: str) -> str | None:
    """The abusive word an unknown lower-case token stands for, or the token split in two.

    A split only into an English word and an abusive word (either way round), else a one-edit
    correction with a single candidate; None when neither applies.
    """
    if len(token) < _MIN_TYPO_LENGTH:
        return None
    vocabulary = _vocabulary()
    if token in vocabulary.targets:
        return None  # written as itself ("dumbass" is no dictionary word)
    # A split needs no edit, so it comes first: "aloser" is "a loser", not "loser".
    split = _split_glued(token, vocabulary)
    if split is not None:
        return split
    suggestions = vocabulary.index.lookup(token, Verbosity.CLOSEST, max_edit_distance=1)
    if len(suggestions) != 1:
        return None  # none, or ambiguous: leave it
    word = suggestions[0].term
    # Evasions keep a word readable, so its first and last letters stay; typos of other
    # words and foreign words mostly differ there (snus/anus, shure/hure, pedophiles).
    if token[0] != word[0] or token[-1] != word[-1]:
        return None
    # Only the two evasions: letters swapped, or one dropped. A changed or added letter is far
    # more often another word (ramed/raped, whome/whore, chik/chink); faggit is lost so.
    swapped = sorted(token) == sorted(word)
    if not swapped and (len(token) != len(word) - 1 or len(word) < _MIN_EDITED_TARGET):
        return None
    return word


def _split_glued(token: str, vocabulary: _Vocabulary) -> str | None:
    """``left right`` where the token glues an English word and an abusive word.

    The usual evasion glues the abusive word to the word before it ("anidiot"). An abusive
    word first must be long: short ones start real compounds and names (shitload, pissgate,
    Cockburn).
    """
    splits = []
    for cut in range(1, len(token)):
        left, right = token[:cut], token[cut:]
        english_first = (
            left in vocabulary.english
            and (len(left) >= 2 or left in ("a", "i"))
            and len(right) >= _MIN_GLUED_PART
            and right in vocabulary.targets
        )
        target_first = (
            len(left) >= _MIN_GLUED_LEADING
            and left in vocabulary.targets
            and len(right) >= 3
            and right in vocabulary.english
        )
        if english_first or target_first:
            splits.append(f"{left} {right}")
    return splits[0] if len(splits) == 1 else None


def _recased(word: str, original: str) -> str:
    """The corrected word in the original's case: upper, capitalised or lower."""
    if original.isupper():
        return word.upper()
    if original[0].isupper():
        return word[0].upper() + word[1:]
    return word
