"""What one comment says about itself: links, author, gibberish, greetings, off-topic selling.

Everything here is a pure function of the comment and its article; state that other comments
or moderators built up (velocity, near-duplicates, reputation) arrives as ``SpamFacts``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache

from civil.spam.lexicon import (
    BUSINESS_VOICE,
    COMMERCIAL_PHRASES,
    COMMERCIAL_WORDS,
    GREETING_WORDS,
    SHORTENERS,
    STOPWORDS,
    SUSPICIOUS_TLDS,
    TWO_LEVEL,
)
from civil.spam.normalize import clean, unicode_clean
from civil.spam.relevance import Idf, cosine, load_idf, norm, vector

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'\]\)]+", re.IGNORECASE)
# A tag ends at the next "<" too: "<a <a <a ..." must not scan to the end from every "<".
_HREF = re.compile(r"<a\s[^<>]*href\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]+>")
# Starts only where a run of address characters starts: from every position inside a long
# run (no "@" in it) the scan would go to its end, quadratic in the comment's length.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_BARE_DOMAIN = re.compile(
    r"(?<![\w@./-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:com|net|org|info|biz|ru|xyz|top|io|ly|co|us|cn|site|online|shop|store|club|click|"
    r"link|win|loan|live|life|icu|buzz|cam|tk|ml|ga|cf|gq|pw|su|vip|bid|in|me|tv|cc|ws))"
    r"(/[^\s<>\"']*)?(?![\w-])",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_VOWELS = frozenset("aeiouy")
MIN_GIBBERISH_LETTERS = 15
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_PATH_START = re.compile(r"[/?#]")
_HOST = re.compile(r"[\w.-]+(?::\d+)?")
_ELONGATED = re.compile(r"([A-Za-z])\1{2,}")
_ALNUM4 = re.compile(r"[A-Za-z0-9]{4,}")
_DIGIT = re.compile(r"\d")
_DIGIT_SANDWICH = re.compile(r"\d[a-z]+\d")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
# A phone number: 7+ digits, optionally grouped by spaces, dots, dashes or brackets
# ("0800 123 4567", "+44 (0)20 7946 0018", "555-0199-22"); years and prices have fewer digits.
_PHONE = re.compile(r"(?<![\w.])\+?\(?\d[\d\s().-]{5,18}\d(?![\w.])")
_MESSENGER = re.compile(
    r"\b(?:whats\s?app|telegram|wechat|viber|skype|kik|snapchat|signal me|"
    r"(?:call|text|sms|dm|message|inbox|contact|email|e-mail|mail)\s+(?:me|us|now|today)|"
    r"(?:call|text|sms)\s+\+?\d)\b",
    re.IGNORECASE,
)
# The article excerpt the off-topic measures read (a long article's start carries its topic).
ARTICLE_CHARS = 20000


@dataclass(frozen=True)
class SpamInput:
    """One comment as the spam scorer sees it (copied out of the database)."""

    content: str
    content_type: str = "text/plain"
    honeypot: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    author_url: str | None = None
    ip: str | None = None
    article_title: str | None = None
    article_text: str | None = None
    is_reply: bool = False


@dataclass(frozen=True)
class Features:
    """Signals the comment carries by itself."""

    model_text: str
    links: tuple[str, ...]
    domains: tuple[str, ...]
    shorteners: int
    suspicious_tlds: int
    link_char_ratio: float
    obfuscated_links: int
    unicode_tricks: bool
    email_domain: str | None
    disposable_email: bool
    author_url_domain: str | None
    author_url_linked: bool
    author_name_spammy: bool
    honeypot: bool
    gibberish: float
    greeting_only: bool
    relevance: float | None  # share of the comment's content words found in the article
    commercial_cues: int
    content_words: int
    # IDF-weighted cosine of the comment's and the article's (title + excerpt) content words
    article_similarity: float | None = None
    contact_cues: int = 0  # phone numbers, e-mail addresses and "WhatsApp me" in the text
    extras: dict[str, object] = field(default_factory=dict)


@lru_cache(maxsize=1)
def disposable_domains() -> frozenset[str]:
    """Disposable e-mail domains from the maintained `disposable-email-domains` package."""
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def registrable_domain(host: str) -> str:
    """The domain a site owner registers (``shop.example.co.uk`` -> ``example.co.uk``)."""
    host = host.lower().strip(".").split(":")[0]
    host = host.removeprefix("www.")
    labels = host.split(".")
    keep = 3 if ".".join(labels[-2:]) in TWO_LEVEL else 2
    return ".".join(labels[-keep:])


def url_domain(url: str) -> str | None:
    """The registrable domain of a URL or bare domain, or None when there is no host."""
    rest = _SCHEME.sub("", url.strip())
    host = _PATH_START.split(rest, maxsplit=1)[0].split("@")[-1]
    if "." not in host or not _HOST.fullmatch(host):
        return None
    return registrable_domain(host)


def find_links(text: str, raw: str, content_type: str) -> list[str]:
    """URLs, bare domains and HTML anchors, each once, in order of appearance."""
    found = [m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text)]
    stripped = _URL.sub(" ", text)
    found += [m.group(0).rstrip(".,;:!?") for m in _BARE_DOMAIN.finditer(stripped)]
    if content_type == "text/html":
        found += [html.unescape(m.group(1)) for m in _HREF.finditer(raw)]
    return list(dict.fromkeys(found))


def gibberish_score(text: str) -> float:
    """Share of the letters in Latin words that no language would write (0 clean .. 1 mash).

    A word (4+ characters) counts as gibberish when it has no vowel, a run of five
    consonants, or mixes letters and digits at random. Non-Latin scripts are never gibberish here.
    """
    # Elongation ("sooooo", "wowwww") is emphasis, not gibberish: runs shrink to one letter.
    words = [w for w in _ALNUM4.findall(_ELONGATED.sub(r"\1", text)) if not w.isdigit()]
    # Too little text to judge ("hmmm", "tldr"): interjections are not gibberish.
    if sum(map(len, words)) < MIN_GIBBERISH_LETTERS:
        return 0.0
    bad = letters = 0
    for word in words:
        letters += len(word)
        lower = word.lower()
        alpha = _DIGIT.sub("", lower)
        digits = len(lower) - len(alpha)
        if (
            not _VOWELS.intersection(alpha)
            or _CONSONANT_RUN.search(alpha)
            or (digits >= 2 and len(alpha) >= 2 and _DIGIT_SANDWICH.search(lower))
        ):
            bad += len(word)
    return bad / letters


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    for suffix in ("ing", "ers", "ies", "ed", "er", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> list[str]:
    """Lower-cased, crudely stemmed words that carry meaning (no stopwords, 3+ letters)."""
    return [
        _stem(w)
        for w in (m.group(0).lower() for m in _WORDS.finditer(text))
        if len(w) >= 3 and w not in STOPWORDS
    ]


@lru_cache(maxsize=256)
def _article_words(title: str, text: str) -> tuple[str, ...]:
    # Cached: a busy article gets many comments, and its text is the same each time.
    return tuple(content_words(unicode_clean(f"{title} {text[:ARTICLE_CHARS]}")))


@lru_cache(maxsize=256)
def _article_vocabulary(title: str, text: str) -> frozenset[str]:
    return frozenset(_article_words(title, text))


@lru_cache(maxsize=256)
def _article_vector(title: str, text: str, idf: Idf | None) -> tuple[dict[int, float], float]:
    # The title is the article's own summary: its words count twice.
    title_words = content_words(unicode_clean(title))
    vec = vector([*title_words, *_article_words(title, text)], idf)
    return vec, norm(vec)


def article_similarity(words: list[str], title: str, text: str, idf: Idf | None) -> float:
    """IDF-weighted cosine (0..1) between a comment's content words and its article's."""
    article, article_norm = _article_vector(title, text, idf)
    return cosine(vector(words, idf), article, article_norm)


def contact_cues(text: str) -> int:
    """Phone numbers, e-mail addresses and messenger invitations written into the text."""
    phones = sum(1 for m in _PHONE.finditer(text) if len(_DIGIT.findall(m.group(0))) >= 7)
    return phones + len(_EMAIL.findall(text)) + len(_MESSENGER.findall(text))


def commercial_cues(text: str) -> int:
    """How many marketing words and phrases, and sentences in a business's voice, it uses."""
    lower = text.lower()
    words = sum(1 for w in _WORDS.findall(lower) if w in COMMERCIAL_WORDS)
    voice = len(BUSINESS_VOICE.findall(lower))
    return words + voice + sum(1 for phrase in COMMERCIAL_PHRASES if phrase in lower)


def _greeting_only(text_without_links: str) -> bool:
    words = [w.lower() for w in _WORDS.findall(text_without_links)]
    return 0 < len(words) <= 14 and all(w in GREETING_WORDS for w in words)


def _author_name_spammy(name: str | None) -> bool:
    if not name:
        return False
    cleaned = unicode_clean(name)
    return (
        bool(_URL.search(cleaned) or _BARE_DOMAIN.search(cleaned))
        or commercial_cues(cleaned) >= 2
        or len(cleaned.split()) > 5
    )


def extract(item: SpamInput, idf: Idf | None = None) -> Features:
    """Every self-contained signal of one comment.

    ``idf`` weighs words for the article similarity; None takes the shipped table.
    """
    visible = item.content
    if item.content_type == "text/html":
        visible = html.unescape(_TAG.sub(" ", item.content))
    cleaned = clean(visible)
    links = find_links(cleaned.text, item.content, item.content_type)
    domains = tuple(dict.fromkeys(d for d in map(url_domain, links) if d))
    without_links = _BARE_DOMAIN.sub(" ", _URL.sub(" ", cleaned.text))
    without_links = _EMAIL.sub(" ", without_links)
    link_chars = max(len(cleaned.text.strip()) - len(" ".join(without_links.split())), 0)
    email_domain = None
    if item.author_email and "@" in item.author_email:
        email_domain = item.author_email.rsplit("@", 1)[1].strip().lower() or None
    author_domain = url_domain(item.author_url) if item.author_url else None
    without_contacts = _BARE_DOMAIN.sub(" ", _URL.sub(" ", cleaned.text))
    words = content_words(without_links)
    relevance = similarity = None
    if (item.article_title or item.article_text) and words:
        title, text = item.article_title or "", item.article_text or ""
        vocabulary = _article_vocabulary(title, text)
        relevance = sum(1 for w in words if w in vocabulary) / len(words)
        similarity = article_similarity(words, title, text, idf or load_idf())
    return Features(
        model_text=cleaned.model_text,
        links=tuple(links),
        domains=domains,
        shorteners=sum(1 for d in domains if d in SHORTENERS),
        suspicious_tlds=sum(1 for d in domains if d.rsplit(".", 1)[-1] in SUSPICIOUS_TLDS),
        link_char_ratio=link_chars / max(len(cleaned.text.strip()), 1),
        obfuscated_links=cleaned.obfuscated_links,
        unicode_tricks=cleaned.unicode_tricks,
        email_domain=email_domain,
        disposable_email=bool(email_domain and email_domain in disposable_domains()),
        author_url_domain=author_domain,
        author_url_linked=bool(author_domain and author_domain in domains),
        author_name_spammy=_author_name_spammy(item.author_name),
        honeypot=bool(item.honeypot and item.honeypot.strip()),
        gibberish=gibberish_score(without_links),
        greeting_only=_greeting_only(without_links),
        relevance=relevance,
        commercial_cues=commercial_cues(without_links),
        content_words=len(words),
        article_similarity=similarity,
        contact_cues=contact_cues(without_contacts),
    )
