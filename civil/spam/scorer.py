"""One spam probability from the text model and every signal, with each signal's contribution.

The scheme is additive log-odds (naive-Bayes style): the text model's calibrated logit, held
to ±``TEXT_CLIP`` so no single text can outvote a moderator's labels, plus one term per signal
that fired, squashed by the logistic function. Each term below is in log-odds; +2.2 turns an
even chance into 90 %. The weights were set by hand from the signal's precision on the data in
the model card (``models/spam/README.md``), which also measures each family's contribution.

Terms (log-odds; the model card has the reasoning and measures each family):

- text: the text model's logit, clipped to +-4.
- links: +0.7 per link (up to 4); +0.8 when links are over half the text; +1.5 per URL
  shortener and +1.0 per throw-away TLD (up to 2 each).
- evasion: +2.5 for an obfuscated URL (+0.5 per further one); +1.5 for invisible characters
  or look-alike letters.
- author: +1.5 disposable e-mail domain; +2.0 URL or sales words in the name; +0.8 when the
  author URL's domain is also linked in the text.
- honeypot: +9 when the hidden field was filled.
- gibberish: 5g - 1 when a share g >= 0.4 of the letters sit in unpronounceable words.
- greeting: +3.0 for a greetings-only comment with a link or an author URL.
- offtopic: 0.5 + 0.75 per sales cue (at most 4) when under 10 % of its words appear in the
  article and it has a sales cue; +1.5 when it links somewhere (in the text or as the author
  URL) yet its IDF-weighted cosine with the article's title and excerpt is under 0.05.
- relevance: the graded cosine s with the article, 1.2 * clip((0.12 - s) / 0.12, -1, 1):
  +1.2 for a comment sharing no weighted word with the article, 0 at s = 0.12, and -1.2
  (``spam_ontopic``) from s = 0.24, or when 30 %+ of its words appear in the article; the
  on-topic credit is void for a text that was also posted elsewhere (``duplicate`` fired).
- contact: +1.2 per phone number, e-mail address or "WhatsApp me" in the text (at most 2).
- velocity: +0.6 per comment beyond 3 by the author in 10 min, +0.5 per comment beyond 5 from
  the IP in 10 min (3 at most each); +0.8 (k - 1), at most 3.2, when k other comments linked
  the same domain within the hour.
- duplicate: +1.5 per other article or site that got a near-identical text (Jaccard >= 0.7)
  in the last 24 h, at most 4.5.
- reputation: +5 sim for a near-duplicate (Jaccard >= 0.5) of a text this site labelled
  spam, -3 for one (Jaccard >= 0.8) it labelled ham; per link domain, author URL domain,
  e-mail, e-mail domain and IP the site labelled s times spam and h times ham,
  w ln((s + 1/4) / (h + 1/4)) with w = 2, 2, 2, 1.5, 1, the total held within [-4, 6].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from civil.spam.features import Features, SpamInput, extract
from civil.spam.textmodel import SpamTextModel

FAMILIES = (
    "text",
    "links",
    "evasion",
    "author",
    "honeypot",
    "gibberish",
    "greeting",
    "offtopic",
    "relevance",
    "contact",
    "velocity",
    "duplicate",
    "reputation",
)
TEXT_CLIP = 4.0
UNRELATED_LINK_SIMILARITY = 0.05
RELEVANCE_MIDPOINT = 0.12
RELEVANCE_WEIGHT = 1.2
Z_CLIP = 12.0
REPUTATION_WEIGHTS = {
    "link_domain": 2.0,
    "author_url_domain": 2.0,
    "email": 2.0,
    "email_domain": 1.5,
    "ip": 1.0,
}
NEAR_DUP_JACCARD = 0.7
LABELLED_SPAM_JACCARD = 0.5
LABELLED_HAM_JACCARD = 0.8


@dataclass(frozen=True)
class SpamFacts:
    """What other comments and the site's labels say about this one (gathered from storage)."""

    author_recent: int = 0  # the author's other comments on the site in the last 10 minutes
    ip_recent: int = 0  # comments from the same IP on the site in the last 10 minutes
    domain_recent: int = 0  # other comments on the site linking the same domain in the last hour
    near_duplicates: int = 0  # near-identical texts on other articles or sites in the window
    labelled_spam_similarity: float = 0.0  # best Jaccard with a text this site labelled spam
    labelled_ham_similarity: float = 0.0
    # (kind, value, spam labels, ham labels) for this comment's domains, e-mail and IP
    reputation: tuple[tuple[str, str, int, int], ...] = ()


@dataclass(frozen=True)
class Signal:
    """One term of the sum: its family, a code, its log-odds and why."""

    family: str
    code: str
    contribution: float
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {
            "signal": self.code,
            "family": self.family,
            "contribution": round(self.contribution, 3),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class SpamResult:
    """The probability and the signals that made it, largest first."""

    probability: float
    signals: tuple[Signal, ...] = field(default=())

    @property
    def log_odds(self) -> float:
        """The summed log-odds behind ``probability`` (clipped, not rounded)."""
        return _summed(self.signals)

    def explanation(self) -> dict[str, object]:
        """JSON extras for the decision's spam reason."""
        return {"signals": [s.to_dict() for s in self.signals]}


def _summed(signals: Sequence[Signal]) -> float:
    return max(-Z_CLIP, min(sum(s.contribution for s in signals), Z_CLIP))


def _links(f: Features) -> list[Signal]:
    out = []
    if f.links:
        n = min(len(f.links), 4)
        out.append(Signal("links", "spam_links", 0.7 * n, f"{len(f.links)} link(s)"))
        if f.link_char_ratio > 0.5:
            out.append(
                Signal("links", "spam_link_ratio", 0.8, f"links are {f.link_char_ratio:.0%} of it")
            )
    if f.shorteners:
        out.append(
            Signal("links", "spam_shortener", 1.5 * min(f.shorteners, 2), "URL shortener link")
        )
    if f.suspicious_tlds:
        out.append(
            Signal("links", "spam_tld", 1.0 * min(f.suspicious_tlds, 2), "throw-away domain TLD")
        )
    return out


def _evasion(f: Features) -> list[Signal]:
    out = []
    if f.obfuscated_links:
        value = 2.5 + 0.5 * (min(f.obfuscated_links, 4) - 1)
        out.append(
            Signal("evasion", "spam_obfuscated_link", value, "URL written to dodge link filters")
        )
    if f.unicode_tricks:
        out.append(
            Signal("evasion", "spam_unicode", 1.5, "invisible characters or look-alike letters")
        )
    return out


def _author(f: Features) -> list[Signal]:
    out = []
    if f.disposable_email:
        out.append(
            Signal("author", "spam_disposable_email", 1.5, f"disposable e-mail {f.email_domain}")
        )
    if f.author_name_spammy:
        out.append(Signal("author", "spam_author_name", 2.0, "URL or sales words in the name"))
    if f.author_url_linked:
        out.append(
            Signal("author", "spam_author_url", 0.8, f"links its own site {f.author_url_domain}")
        )
    return out


def _content(f: Features, has_author_url: bool) -> list[Signal]:
    out = []
    if f.honeypot:
        out.append(Signal("honeypot", "spam_honeypot", 9.0, "hidden honeypot field filled"))
    if f.gibberish >= 0.4:
        out.append(
            Signal(
                "gibberish", "spam_gibberish", 5 * f.gibberish - 1, f"{f.gibberish:.0%} gibberish"
            )
        )
    if f.greeting_only and (f.links or has_author_url):
        out.append(Signal("greeting", "spam_greeting_link", 3.0, "only a greeting, plus a link"))
    if f.contact_cues:
        value = 1.2 * min(f.contact_cues, 2)
        detail = f"{f.contact_cues} phone number(s), address(es) or messenger invitation(s)"
        out.append(Signal("contact", "spam_contact", value, detail))
    if f.relevance is not None and f.content_words >= 6:
        if f.relevance < 0.1 and f.commercial_cues >= 1:
            value = min(0.5 + 0.75 * f.commercial_cues, 4.0)
            detail = (
                f"sales text ({f.commercial_cues} cues) unrelated to the article "
                f"({f.relevance:.0%} of its words appear there)"
            )
            out.append(Signal("offtopic", "spam_offtopic", value, detail))
        similarity = f.article_similarity or 0.0
        if similarity < UNRELATED_LINK_SIMILARITY and (f.links or has_author_url):
            detail = f"links elsewhere, unrelated to the article (cosine {similarity:.2f})"
            out.append(Signal("offtopic", "spam_unrelated_link", 1.5, detail))
        out += _relevance(similarity, f.relevance)
    return out


def _relevance(similarity: float, overlap: float) -> list[Signal]:
    """The graded on/off-topic term of a comment with an article."""
    value = (RELEVANCE_MIDPOINT - similarity) / RELEVANCE_MIDPOINT
    value = RELEVANCE_WEIGHT * max(-1.0, min(value, 1.0))
    if overlap >= 0.3:
        value = -RELEVANCE_WEIGHT
    if value < 0:
        detail = f"discusses the article (cosine {similarity:.2f}, {overlap:.0%} shared words)"
        return [Signal("relevance", "spam_ontopic", value, detail)]
    if value > 0:
        detail = f"little to do with the article (cosine {similarity:.2f})"
        return [Signal("relevance", "spam_offtopic_words", value, detail)]
    return []


def _velocity(facts: SpamFacts) -> list[Signal]:
    out = []
    if facts.author_recent > 3:
        value = min(0.6 * (facts.author_recent - 3), 3.0)
        detail = f"author posted {facts.author_recent} others in 10 min"
        out.append(Signal("velocity", "spam_velocity_author", value, detail))
    if facts.ip_recent > 5:
        value = min(0.5 * (facts.ip_recent - 5), 3.0)
        detail = f"{facts.ip_recent} others from this IP in 10 min"
        out.append(Signal("velocity", "spam_velocity_ip", value, detail))
    if facts.domain_recent >= 2:
        value = min(0.8 * (facts.domain_recent - 1), 3.2)
        detail = f"{facts.domain_recent} other comments linked the same domain in 1 h"
        out.append(Signal("velocity", "spam_velocity_domain", value, detail))
    return out


def _memory(facts: SpamFacts) -> list[Signal]:
    out = []
    if facts.near_duplicates:
        value = min(1.5 * facts.near_duplicates, 4.5)
        detail = f"near-identical text on {facts.near_duplicates} other article(s) or site(s)"
        out.append(Signal("duplicate", "spam_duplicate", value, detail))
    if facts.labelled_spam_similarity >= LABELLED_SPAM_JACCARD:
        sim = facts.labelled_spam_similarity
        detail = f"{sim:.0%} like a comment this site marked spam"
        out.append(Signal("reputation", "spam_known_text", 5.0 * sim, detail))
    elif facts.labelled_ham_similarity >= LABELLED_HAM_JACCARD:
        detail = f"{facts.labelled_ham_similarity:.0%} like a comment this site marked not spam"
        out.append(Signal("reputation", "spam_known_ham", -3.0, detail))
    total, parts = 0.0, []
    for kind, key, spam, ham in facts.reputation:
        if spam or ham:
            total += REPUTATION_WEIGHTS.get(kind, 1.0) * math.log((spam + 0.25) / (ham + 0.25))
            parts.append(f"{kind} {key}: {spam} spam / {ham} ham")
    if parts:
        total = max(-4.0, min(total, 6.0))
        out.append(Signal("reputation", "spam_reputation", total, "; ".join(parts)))
    return out


def combine(
    text_logit: float,
    features: Features,
    facts: SpamFacts,
    has_author_url: bool = False,
    disabled: frozenset[str] = frozenset(),
) -> SpamResult:
    """Sum the text logit and every signal's log-odds (minus ``disabled`` families)."""
    clipped = max(-TEXT_CLIP, min(text_logit, TEXT_CLIP))
    signals = [Signal("text", "spam_text", clipped, f"text model log-odds {text_logit:+.2f}")]
    signals += _links(features) + _evasion(features) + _author(features)
    content = _content(features, has_author_url)
    if facts.near_duplicates:
        # A text also posted under other articles or sites is not about this one.
        content = [s for s in content if s.code != "spam_ontopic"]
    signals += content + _velocity(facts) + _memory(facts)
    signals = [s for s in signals if s.family not in disabled]
    z = _summed(signals)
    probability = 1.0 / (1.0 + math.exp(-z))
    ordered = sorted(signals, key=lambda s: -abs(s.contribution))
    return SpamResult(round(probability, 4), tuple(ordered))


class SpamScorer:
    """Scores batches of comments: features in Python, the text model in one call."""

    def __init__(self, model: SpamTextModel) -> None:
        """Use ``model`` for the text signal."""
        self.model = model

    @property
    def name(self) -> str:
        return f"spam:{self.model.version}"

    def score_batch(
        self,
        items: Sequence[SpamInput],
        facts: Sequence[SpamFacts] | None = None,
        disabled: frozenset[str] = frozenset(),
    ) -> list[SpamResult]:
        """One result per comment; ``facts`` default to none (a first-time poster)."""
        features = [extract(item, self.model.idf) for item in items]
        return self.score_features(items, features, facts, disabled)

    def score_features(
        self,
        items: Sequence[SpamInput],
        features: Sequence[Features],
        facts: Sequence[SpamFacts] | None = None,
        disabled: frozenset[str] = frozenset(),
    ) -> list[SpamResult]:
        """Like ``score_batch`` for comments whose features are already extracted."""
        logits = self.model.logits([f.model_text for f in features])
        facts = facts or [SpamFacts()] * len(items)
        return [
            combine(float(z), f, fact, bool(item.author_url), disabled)
            for z, f, fact, item in zip(logits, features, facts, items, strict=True)
        ]
