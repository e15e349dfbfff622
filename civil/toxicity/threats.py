"""Threats of violence, read as grammar: who will do what violent thing to whom.

Why rules beside the models: the ``threat`` label is the rarest in the shared data (about 120
positives, mostly about third parties), and neither member learned a threat against the reader
("I will hurt you badly." scores threat 0.02-0.10) or a normative one ("That reporter should be
shot." 0.00-0.15); every attempt to add threat data cost ranking (models/README.md, "Threat
data: tried, not shipped"). A threat has a small grammar, so Civil reads it:

- ``direct``: a first-person speaker, an intent (will, 'll, going to, gonna, want to, about
  to...) and a violent verb aimed at a person ("I will strangle you", "we're going to burn your
  house down", "I'll make you bleed");
- ``normative``: a person or group who *should / ought to / need to / deserve to* be killed,
  shot, hanged..., or *someone should* do it to them ("Someone should put a bullet in the judge");
- ``veiled``: a handful of intimidation idioms that name no violence ("I know where you live",
  "watch your back", "sleep with one eye open").

A negation between the speaker and the verb ("I would never hurt you", "I don't want to kill
anyone") cancels a direct match, and a threat wholly inside quotation marks is reported
speech (counter-speech quotes hate to condemn it) and left to the models. The rules read the
normalised text (``civil.textnorm``), so leetspeak, look-alike letters and zero-width
characters do not hide a threat from them, and they are English: the language router sends
other languages elsewhere.

A match is evidence for a moderator, not a verdict: its score (``STRENGTH``) sits between the
default policy's hold (0.40) and reject (0.80) thresholds for ``threat``, so a rule alone holds
a comment and a model that is also sure of the threat can still reject it. The strengths, and
the rate at which the rules fire on clean comments, are measured in models/README.md
("Threats: a grammar beside the models").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from civil.textnorm import normalize

# What a rule match sets the `threat` score to (at least), per kind; see the module docstring.
STRENGTH = {"direct": 0.75, "normative": 0.7, "veiled": 0.6}
# A threat is also toxic: the `toxicity` score is raised to this when a rule matches, so a
# policy that holds on toxicity alone sees the threat too.
TOXICITY_FLOOR = 0.5

_SPEAKER = r"(?:i|we|me and (?:my|the) \w+|my (?:brothers?|friends?|boys|guys) and i)"
_INTENT = (
    r"(?:will|shall|'ll|ll|would|'d|am going to|are going to|'m going to|'re going to|"
    r"m going to|re going to|am gonna|are gonna|'m gonna|'re gonna|m gonna|re gonna|gonna|"
    r"going to|want to|wanna|am about to|'m about to|are about to|intend to|plan to|"
    r"promise to|swear (?:i|we) (?:will|'ll)|can't wait to|cannot wait to|am coming to|"
    r"'m coming to|are coming to|'re coming to)"
)
# Words that may sit between the intent and the verb ("I will personally and slowly ...").
_ADVERBS = r"(?:(?:personally|slowly|gladly|happily|literally|actually|really|just|then|also|"
_ADVERBS += r"fucking|f\w*ing|definitely|surely|seriously|find you and|come over and|"
_ADVERBS += r"come and|hunt you down and|track you down and|go and|go) )*"
# A person as object: the reader, a third person, or a possession of theirs.
_PERSON = (
    r"(?:you|u|ya|y'all|you all|you guys|you people|him|her|them|thee|"
    r"(?:your|ur|his|her|their) (?:\w+ ){0,2}?(?:face|head|skull|legs?|arms?|neck|throat|"
    r"family|kids|children|wife|husband|mother|mom|mum|dad|father|house|home|car|teeth|"
    r"jaw|knees?|bones?|fingers?|hands?|body|guts|brains?|dog|cat|ass|arse))"
)
# Violent verbs that need a person after them.
_VIOLENT = (
    r"(?:kill|murder|hurt|stab|shoot|strangle|choke|smash|break|burn|bash|punch|slap|rape|"
    r"torture|hang|lynch|butcher|slaughter|execute|behead|decapitate|gut|skin|bury|slit|"
    r"cut|maim|cripple|beat|kick|knife|gun down|run over|blow up|set fire to|torch|"
    r"drown|poison|hunt down|hunt|end|destroy|break into|smack|snap|crush|bleed|finish off|"
    r"take out|put down|wipe out|eliminate|exterminate|hit)"
)
# Verbs that are only a threat with a completion ("beat you" at chess is not; "beat you to
# death" is). Checked after a match of a verb in this set.
_NEEDS_COMPLETION = frozenset({"beat", "hit", "kick", "end", "destroy", "take out", "finish off"})
_COMPLETION = re.compile(
    r"^\s*(?:\w+ ){0,3}?(?:up|to death|senseless|to a pulp|bloody|black and blue|until|till|"
    r"unconscious|with (?:a|my|the) (?:bat|hammer|knife|gun|pipe|brick|fists?)|"
    r"in (?:your|the) (?:face|head|sleep)|permanently|for good|once and for all|dead|"
    r"life|so hard)",
)
# "I'll shoot you an email", "I'll hit you up", "I'd kill for": not threats.
_HARMLESS_AFTER = re.compile(
    r"^\s*(?:a|an|the|some|this|that|my|one|another|over|back|up with|up on|up later|up "
    r"tomorrow|a line|a message|an email|a text|a note|a dm|a pm|a call|a link)\b"
)
_MAKE = r"(?:make|let) (?:you|u|him|her|them) (?:bleed|suffer|pay|scream|beg|disappear|regret)"
_NEGATION = re.compile(r"\b(?:not|never|no|nobody|n't|nt|cannot|can't|won't|wouldn't)\b|n't\b")

_DIRECT = re.compile(
    rf"\b{_SPEAKER} ?{_INTENT} {_ADVERBS}(?P<act>(?P<verb>{_VIOLENT}) {_PERSON}|{_MAKE})\b"
)
# "one more word and you're dead", "you're a dead man", "you will die".
_DIRECT_STATE = re.compile(
    r"\b(?:you(?:'re| are| will be|'ll be) (?:so |already |a )?dead(?: meat| man| woman)?|"
    r"you(?:'re| are) going to (?:die|get (?:hurt|stabbed|shot|killed))|"
    r"you(?:'re| are) gonna (?:die|get (?:hurt|stabbed|shot|killed)))\b"
)
# A target that may deserve violence: a person, people or group (a determiner and a noun
# phrase, a pronoun, or a plural noun).
_PARTICIPLE = (
    r"(?:shot|killed|hanged|hung|lynched|executed|beaten|stabbed|murdered|gassed|"
    r"burned|burnt|beheaded|strung up|lined up against a wall|lined up and shot|"
    r"put against a wall|put down|put to death|shot dead|taken out,?(?: permanently| for good|"
    r"back and shot)|wiped out|exterminated|eliminated|slaughtered|tortured|raped|"
    r"run over|drowned|stoned|flogged|whipped|castrated|put in the ground|six feet under|"
    r"thrown (?:off|from) a (?:roof|bridge|building)|dragged (?:out|through the streets))"
)
_OUGHT = (
    r"(?:should|shud|ought to|oughta|needs? to|must|deserves? to|have to|has to|"
    r"had better|better)"
)
_NORMATIVE = re.compile(
    rf"\b{_OUGHT} (?:all |just |really |honestly |simply |probably )?(?:be|get) "
    rf"(?:\w+ )?{_PARTICIPLE}\b"
)
_SOMEONE = r"(?:someone|somebody|anyone|anybody|people|we|they|you|the police|the army)"
_NORMATIVE_ACT = re.compile(
    rf"\b{_SOMEONE} (?:should|ought to|needs to|need to|has to|have to|must|oughta) "
    rf"(?:just |really |finally |honestly )?(?:shoot|kill|hang|lynch|execute|murder|behead|"
    rf"stab|gas|string up|put a bullet in|put a bullet through|run (?:\w+ ){{0,3}}?over|take out|"
    rf"exterminate|wipe out|put down|burn|slaughter)\b(?! (?:time|the lights|an? \w+ off))"
)
_DESERVE_DEATH = re.compile(
    r"\b(?:deserves? (?:to die|death|a bullet|to be put down|the rope|the noose)|"
    r"(?:should|must|need to|needs to|ought to) die|death to (?:all )?\w+|"
    r"(?:hope|wish) (?:you|he|she|they) (?:die|dies|get killed|gets killed|get shot|"
    r"gets shot|burn alive|get raped|gets raped))\b"
)
# Intimidation idioms that name no violence; a short list, each measured against clean text.
_VEILED = re.compile(
    r"\b(?:i know where you (?:live|work|sleep|park)|we know where you (?:live|work|sleep|park)|"
    r"i (?:know|have) (?:your|ur) (?:address|home address)|"
    r"(?:i|we) know (?:which|what) school (?:your|ur) (?:kids|children|son|daughter)|"
    r"watch your back|sleep with one eye open|"
    r"(?:we|i)(?:'re| are| am|'m) coming for you|"
    r"(?:would|it'd|will) be a (?:shame|pity) if something (?:happened|happens|were to happen)|"
    r"(?:people like you|you people) (?:have|get|tend to have) accidents|"
    r"you(?:'ll| will) (?:never|not) see it coming|your days are numbered|"
    r"you(?:'ll| will) get what(?:'s| is) coming)\b"
)

# Quoted speech ("Posts claiming \"X should be wiped out\" are why ..."): counter-speech quotes
# a threat to condemn it, so the rules leave a threat wholly inside quotation marks to the
# models, which read it in its context.
_QUOTED = re.compile(r'"[^"\n]{1,400}"|\u201c[^\u201d\n]{1,400}\u201d')


@dataclass(frozen=True)
class ThreatMatch:
    kind: str  # "direct" | "normative" | "veiled"
    start: int  # offsets into the original text
    end: int


def _lower(text: str) -> str:
    """Lower case and straight apostrophes, one character for one (offsets keep)."""
    text = text.replace("\u2019", "'")
    if text.isascii():
        return text.lower()
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _direct(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _DIRECT.finditer(text):
        if _NEGATION.search(match.group(0)):
            continue
        verb = match.group("verb")
        after = text[match.end() :]
        if verb is not None:
            if verb in _NEEDS_COMPLETION and not _COMPLETION.match(after):
                continue
            if _HARMLESS_AFTER.match(after) and verb in ("shoot", "hit", "kill"):
                continue
        spans.append(match.span())
    spans += [m.span() for m in _DIRECT_STATE.finditer(text)]
    return spans


def find(text: str) -> list[ThreatMatch]:
    """Every threat the rules read in ``text``, offsets into ``text`` itself."""
    normalized = normalize(text)
    lowered = _lower(normalized.text)
    found: list[tuple[str, tuple[int, int]]] = [("direct", span) for span in _direct(lowered)]
    for kind, pattern in (
        ("normative", _NORMATIVE),
        ("normative", _NORMATIVE_ACT),
        ("normative", _DESERVE_DEATH),
        ("veiled", _VEILED),
    ):
        found += [(kind, match.span()) for match in pattern.finditer(lowered)]
    quoted = [match.span() for match in _QUOTED.finditer(lowered)]
    matches = []
    for kind, (start, end) in found:
        if any(q_start < start and end < q_end for q_start, q_end in quoted):
            continue  # reported speech: left to the models (see the module docstring)
        original = normalized.span(start, end)
        matches.append(ThreatMatch(kind, original[0], original[1]))
    return sorted(matches, key=lambda m: (m.start, m.end))


def threat_score(matches: Sequence[ThreatMatch]) -> float:
    """The strongest kind's strength; 0 when nothing matched."""
    return max((STRENGTH[m.kind] for m in matches), default=0.0)


def apply(scores: dict[str, float], matches: Sequence[ThreatMatch]) -> dict[str, float]:
    """``scores`` with threat (and toxicity) raised to what the rules read; never lowered."""
    strength = threat_score(matches)
    if not strength:
        return scores
    raised = dict(scores)
    raised["threat"] = max(raised.get("threat", 0.0), strength)
    raised["toxicity"] = max(raised.get("toxicity", 0.0), TOXICITY_FLOOR)
    return raised


@dataclass
class ThreatRuleScorer:
    """A scorer whose `threat` label is the higher of its model's and the threat grammar's."""

    inner: Any

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]:
        detailed = getattr(self.inner, "score_batch_detailed", None)
        if detailed is not None:
            results = list(detailed(texts))
        else:
            results = [(scores, 1) for scores in self.inner.score_batch(texts)]
        return [
            (apply(scores, find(text)), windows)
            for text, (scores, windows) in zip(texts, results, strict=True)
        ]

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [scores for scores, _ in self.score_batch_detailed(texts)]

    def explain(self, text: str, label: str) -> list[tuple[int, int, float]]:
        """The threat's words when the rules read one; else whatever the model explains."""
        if label == "threat":
            matches = find(text)
            if matches:
                return [(m.start, m.end, STRENGTH[m.kind]) for m in matches]
        explain = getattr(self.inner, "explain", None)
        return list(explain(text, label)) if explain is not None else []

    def __getattr__(self, name: str) -> Any:
        # Everything else (bands, members, tuning attributes) is the wrapped scorer's.
        return getattr(self.inner, name)
