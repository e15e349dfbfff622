"""The rules layer that runs before the models: word lists, links, honeypot, repeats, rates."""

from __future__ import annotations

import html
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from civil.decision.policy import Action, Policy, Reason
from civil.textnorm import normalize_text

# Counts of recent copies stop at this many (see civil.decision.facts).
COUNT_CAP = 100

_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E, 0x200E, 0x200F], None
)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+|<a\s[^>]*href=", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def normalize(text: str) -> str:
    """What word rules match against: the scorers' evasion normaliser, then casefold.

    NFKC and invisible characters first, then ``civil.textnorm`` (look-alike letters,
    leetspeak, spaced or dotted letters), so ``m\u0430ssacre`` or ``i d i o t`` trip a word
    list exactly as the plain spelling does.
    """
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return normalize_text(text).casefold()


_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|\w+);")


def _same_length(replacement: str, original: str) -> str:
    return (replacement + " " * len(original))[: len(original)]


def plain_text(content: str, content_type: str) -> str:
    """The visible text of a comment, the same length as the content.

    Tags become spaces and entities are decoded then padded, so a character offset into the
    plain text (a toxic span, a masked quote) is also an offset into what the site sent.
    """
    if content_type != "text/html":
        return content
    text = _TAG.sub(lambda m: " " * len(m.group(0)), content)
    return _ENTITY.sub(lambda m: _same_length(html.unescape(m.group(0)), m.group(0)), text)


def count_links(content: str) -> int:
    return len(_URL.findall(content))


def _word_pattern(words: list[str]) -> re.Pattern[str] | None:
    cleaned = sorted({normalize(w).strip() for w in words if w.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in cleaned)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


@dataclass(frozen=True)
class RuleFacts:
    """What the rules need from storage, gathered before evaluation so rules stay pure."""

    same_text_recent: int = 0
    author_last_minute: int = 0
    ip_last_minute: int = 0
    # A moderator's verdict on the author: trusted | premoderated | banned | None.
    author_standing: str | None = None
    # The author's record (counted only when a standing rule is on; capped at its limit).
    author_approved: int = 0
    author_rejected: int = 0
    author_earlier: int = 0
    author_recent_decided: int = 0
    author_recent_rejected: int = 0
    # While set, the burst guard pre-moderates the article until then.
    article_surge_until: datetime | None = None


# trusted: hold becomes approve (policy.decide); premoderated: always hold; banned: reject.
STANDING_HITS: dict[str, tuple[str, str, Action]] = {
    "trusted": ("author_trusted", "a moderator trusts this author", "approve"),
    "premoderated": ("author_premoderated", "a moderator pre-moderates this author", "hold"),
    "banned": ("author_banned", "a moderator banned this author", "reject"),
}


def evaluate_rules(
    policy: Policy,
    *,
    content: str,
    content_type: str,
    honeypot: str | None,
    facts: RuleFacts,
    words_text: str | None = None,
) -> list[Reason]:
    """Every rule the comment trips, each with the action it asks for.

    ``words_text`` is the text the word lists read: the comment's plain text with what it
    quotes from the article masked (``civil.decision.quoting``), so a reader citing the
    article's own word is not rejected for it. Without it the whole plain text is read.
    """
    hits: list[Reason] = []
    if policy.closed:
        hits.append(Reason("article_closed", "comments are closed on this article", "reject"))
    if facts.author_standing in STANDING_HITS:
        hits.append(Reason(*STANDING_HITS[facts.author_standing]))
    else:
        # A moderator's verdict always wins over standing earned automatically.
        hits += standing_hits(policy, facts)
    if facts.article_surge_until is not None:
        until = facts.article_surge_until.isoformat().replace("+00:00", "Z")
        hits.append(
            Reason(
                "article_surge",
                f"the article's comment rate jumped far above its usual; pre-moderated until "
                f"{until}",
                "hold",
                {"until": until},
            )
        )
    if words_text is None:
        words_text = plain_text(content, content_type)
    text = normalize(words_text)
    word_rules: tuple[tuple[list[str], str, Action], ...] = (
        (policy.banned_words, "banned_word", "reject"),
        (policy.suspect_words, "suspect_word", "hold"),
    )
    for words, code, action in word_rules:
        pattern = _word_pattern(words)
        match = pattern.search(text) if pattern else None
        if match:
            hits.append(
                Reason(
                    code,
                    f"contains {code.replace('_', ' ')} '{match.group(0)}'",
                    action,
                    {"word": match.group(0)},
                )
            )
    links = count_links(content)
    if links > policy.max_links:
        hits.append(
            Reason(
                "spam_links",
                f"{links} links > limit {policy.max_links}",
                "hold",
                {"links": links, "limit": policy.max_links},
            )
        )
    if honeypot:
        hits.append(Reason("spam_honeypot", "the hidden honeypot field was filled", "reject"))
    if facts.same_text_recent and policy.repeat_window_minutes:
        hits.append(
            Reason(
                "spam_repeat",
                f"identical text posted {facts.same_text_recent}"
                f"{' or more' if facts.same_text_recent >= COUNT_CAP else ''} time(s) in the last "
                f"{policy.repeat_window_minutes} min",
                "hold",
                {"count": facts.same_text_recent},
            )
        )
    for count, limit, code, who in (
        (facts.author_last_minute, policy.author_rate_per_minute, "rate_author", "author"),
        (facts.ip_last_minute, policy.ip_rate_per_minute, "rate_ip", "IP address"),
    ):
        if limit and count > limit:
            hits.append(
                Reason(
                    code,
                    f"{count} comments from this {who} in the last minute > limit {limit}",
                    "hold",
                    {"count": count, "limit": limit},
                )
            )
    return hits


def standing_hits(policy: Policy, facts: RuleFacts) -> list[Reason]:
    """Automatic standing: earned trust, new authors' first comments, a high rejection rate."""
    hits: list[Reason] = []
    earned = policy.trust_after_approved
    if earned and facts.author_approved >= earned and not facts.author_rejected:
        hits.append(
            Reason(
                "author_earned_trust",
                f"{facts.author_approved} approved comments and no rejection: trusted",
                "approve",
                {"approved": facts.author_approved, "threshold": earned},
            )
        )
        return hits
    if policy.premoderate_first and facts.author_earlier < policy.premoderate_first:
        hits.append(
            Reason(
                "author_new",
                f"comment {facts.author_earlier + 1} of a new author's first "
                f"{policy.premoderate_first}: pre-moderated",
                "hold",
                {"earlier": facts.author_earlier, "limit": policy.premoderate_first},
            )
        )
    limit = policy.rejection_rate_limit
    decided = facts.author_recent_decided
    # Three decided comments at least: one rejection in one comment says little.
    if limit is not None and decided >= 3 and facts.author_recent_rejected / decided >= limit:
        rate = facts.author_recent_rejected / decided
        hits.append(
            Reason(
                "author_rejection_rate",
                f"{facts.author_recent_rejected} of the author's last {decided} comments were "
                f"rejected ({rate:.0%} >= {limit:.0%})",
                "hold",
                {"rate": round(rate, 4), "limit": limit, "decided": decided},
            )
        )
    return hits


def heuristic_spam_score(content: str, honeypot: str | None, facts: RuleFacts) -> float:
    """A documented interim spam probability from link, repeat and honeypot signals.

    Logistic in a weighted sum: each link +1.2, a honeypot +6, each recent identical post +1.5,
    bias -3.5. One link alone gives 0.09; four links 0.83; a filled honeypot 0.92.
    """
    z = -3.5 + 1.2 * count_links(content) + 1.5 * min(facts.same_text_recent, 3)
    if honeypot:
        z += 6.0
    return round(1.0 / (1.0 + math.exp(-z)), 4)
