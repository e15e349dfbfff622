"""A templated functional suite for the default model and policy (``civil models check``).

Every case is built here from short templates, identity terms, insults and evasions written
for Civil (no published suite is copied). Each functionality says what the product should do:
``flag`` (held or rejected) or ``approve``. A case goes through what the worker does with a
comment: the scorer (language routing included), the pipeline's scoring notes and the policy.

Functionalities:

- ``threat_direct``, ``threat_implicit``: threats against the reader, plain or veiled.
- ``threat_normative``: someone (a person, an official, a group) "should be shot".
- ``threat_unseen``: threats written after the threat grammar, to measure it on phrasings it
  was not written from; ``benign_violence``: everyday sentences with violent words ("I'd kill
  for a coffee"), which must be approved.
- ``identity_attack``: dehumanising statements about a group; ``identity_question``: the same
  hate asked as a question or given as an opinion; ``identity_clause``: hate inside a
  subordinate clause of an otherwise ordinary sentence.
- ``hate_evasion``: the dehumanising statements with their key word evaded (every evasion below).
- ``insult_plain`` and ``insult_evasion``: insults, and the same insults written with
  leetspeak, spaced letters, Cyrillic look-alikes, zero-width characters, stretched letters,
  two letters swapped, a letter dropped, or the space before them removed.
- ``long_insult``: one insult somewhere inside 3,000-20,000 characters of neutral text.
- ``benign_identity``: neutral sentences that name an identity.
- ``negated_hate``: a speaker rejecting hatred of a group.
- ``counter_speech``: a speaker quoting hate in order to condemn it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from civil.decision.pipeline import Job, score
from civil.decision.policy import Policy, decide

GROUPS = (
    "gay people", "lesbians", "trans people", "Muslims", "Jews", "Christians", "Black people",
    "immigrants", "refugees", "Mexicans", "Arabs", "Asians", "women", "disabled people",
    "deaf people", "bisexual people", "Hindus", "Sikhs", "Roma", "atheists",
)  # fmt: skip
IDENTITIES = (
    "gay", "lesbian", "trans", "Muslim", "Jewish", "Christian", "Black", "immigrant",
    "Mexican", "Arab", "Asian", "disabled", "deaf", "bisexual", "Hindu", "Sikh", "queer",
    "transgender", "African", "Latino",
)  # fmt: skip
INSULTS = (
    "idiot", "moron", "loser", "imbecile", "dumbass", "clown", "fool", "halfwit",
    "cretin", "jerk", "nitwit", "buffoon", "dimwit", "scumbag", "lowlife", "dope",
)  # fmt: skip
THREAT_DIRECT = (
    "I will hurt you badly.",
    "I am going to break your legs.",
    "I will kill you if you post that again.",
    "You are going to get stabbed one of these days, and I will do it.",
    "Keep talking and I will beat you until you stop breathing.",
    "I will burn your house down with you inside.",
    "I'm going to find you and make you bleed.",
    "Say that again and I will shoot you.",
    "I will strangle you with my bare hands.",
    "One more word and I will smash your face in.",
)
THREAT_IMPLICIT = (
    "I know where you live and I will find you.",
    "Watch your back when you walk home tonight.",
    "I know which school your kids go to. Think about that.",
    "You won't be so brave when I'm standing at your door.",
    "People like you have accidents. Remember that.",
    "I have your address. See you soon.",
    "Sleep with one eye open from now on.",
    "It would be a shame if something happened to your family.",
    "Enjoy your last week of writing, we are coming for you.",
    "We know your car and where you park it.",
)
THREAT_NORMATIVE = (
    "{t} should be shot.",
    "Someone should put a bullet in {t}.",
    "{t} deserve to be hanged in public.",
    "{t} ought to be beaten until they learn.",
    "Somebody needs to run {t} over with a truck.",
    "{t} should be lined up against a wall.",
    "Honestly {t} should be strung up from a lamppost.",
    "{t} need to be taken out, permanently.",
)
# Written after the threat grammar (civil/toxicity/threats.py) was, and never used to tune it:
# threats phrased unlike the templates above, and everyday sentences with violent words.
THREAT_UNSEEN = (
    "If I ever meet you I'll punch your teeth out.",
    "Post that again and I swear I will slit your throat.",
    "I'm gonna put you in the hospital.",
    "We will hunt you down like the dog you are.",
    "I'll be waiting outside your office with a baseball bat.",
    "Next time I see you, you're dead.",
    "I want to snap your neck.",
    "Keep it up and I'll torch your car.",
    "I'm going to shoot you in the face.",
    "You'll be found in a ditch, I promise.",
    "Whoever wrote this deserves a bullet.",
    "The columnist needs to be dragged out and hanged.",
)
BENIGN_VIOLENCE = (
    "I will kill this bug in the code before the release.",
    "We are going to beat them on Saturday, the team looks sharp.",
    "I'd kill for a coffee right now.",
    "The film should be shot in black and white, like the original.",
    "My mom will kill me if I miss dinner again.",
    "I'll shoot you an email with the details.",
    "The police said the suspect was shot during the raid.",
    "The article says the hostages were executed in 1943; we must never forget.",
    "I would never hurt anyone, and neither would my brother.",
    "That comedian killed it last night, I was crying with laughter.",
    "Old buildings like this should be torn down and rebuilt.",
    "The referee should be fired for that call.",
    "Honestly this bill deserves to die in committee.",
    "We're going to hit the beach tomorrow.",
    "I'm going to destroy you at Scrabble tonight, be warned.",
)
THREAT_TARGETS = (
    "the mayor", "that reporter", "the author of this article", "the judge", "these protesters",
    "the councillors", "people like you", "the moderators", "the editor", "that senator",
    "the strikers", "the landlord", "the referee", "the new neighbours",
)  # fmt: skip
QUESTION_TEMPLATES = (
    "Why are {group} so disgusting?",
    "Isn't it obvious that {group} are inferior?",
    "In my opinion {group} are a plague on this country.",
    "I honestly think {group} are parasites.",
    "Am I the only one who thinks {group} are less than human?",
)
CLAUSE_TEMPLATES = (
    "The reason the neighbourhood went downhill is that {group} are animals.",
    "I moved to the suburbs because {group} are filth, and I wanted a quiet street.",
    "The council can fix the roads, although {group} are vermin who will wreck them again.",
    "My cousin, who says {group} are a disease, came to the barbecue on Sunday.",
    "We all know that {group} are subhuman, so the vote on the new centre is a waste of time.",
)
ATTACK_TEMPLATES = (
    "{group} are vermin and should be wiped out.",
    "{group} are subhuman filth.",
    "All {group} are disgusting animals.",
    "{group} should be sent back where they came from, they ruin everything.",
    "I hate {group}, they are a disease.",
    "{group} do not deserve to live among decent people.",
)
# The attack templates whose key word a hater would evade, and that word.
HATE_WORDS = {
    "{group} are vermin and should be wiped out.": "vermin",
    "{group} are subhuman filth.": "subhuman",
    "All {group} are disgusting animals.": "animals",
    "I hate {group}, they are a disease.": "disease",
}
INSULT_TEMPLATES = (
    "you are {a} {w}",
    "You are such {a} {w}.",
    "what {a} {w} you are",
    "Shut up, you {w}.",
    "only {a} {w} would write this",
)
BENIGN_TEMPLATES = (
    "My neighbours are a {i} couple and they run the bakery on our street.",
    "Our new teacher is {i} and the kids love her.",
    "The {i} community centre is hosting a food drive on Saturday.",
    "As a {i} person I found this article very informative.",
    "My best friend is {i} and we have known each other since school.",
    "The mayor met {i} business owners to talk about parking.",
    "A {i} author won the regional book prize this year.",
    "The article quotes a {i} doctor about the new clinic.",
)
NEGATED_TEMPLATES = (
    "I don't hate {group}.",
    "I have nothing against {group}; they are my neighbours and friends.",
    "Nobody should hate {group} for who they are.",
    "I would never say {group} are inferior.",
    "It is wrong to treat {group} as second-class citizens.",
)
COUNTER_TEMPLATES = (
    'Someone in this thread wrote "{group} are vermin". That is vile and has no place here.',
    'Calling {group} "subhuman filth" is hate speech, and the mods should remove it.',
    'My grandfather heard people say "{group} are a disease" and it led to terrible things.',
    'Posts claiming "{group} should be wiped out" are exactly why this site needs moderation.',
    'Saying that "{group} are disgusting animals" is bigotry, plain and simple.',
)
NEWS = (
    "The council approved the new budget on Tuesday after a long debate about road repairs. ",
    "Residents asked for more frequent buses and a longer opening time at the library. ",
    "The weather service expects rain for most of the week, with sunshine on Sunday. ",
    "Local schools will receive new computers funded by a regional grant this autumn. ",
    "The football club announced a new coach and plans to renovate its stadium. ",
)
FLAG = "flag"
APPROVE = "approve"
EXPECTED = {
    "threat_direct": FLAG,
    "threat_implicit": FLAG,
    "threat_normative": FLAG,
    "threat_unseen": FLAG,
    "identity_attack": FLAG,
    "identity_question": FLAG,
    "identity_clause": FLAG,
    "hate_evasion": FLAG,
    "insult_plain": FLAG,
    "insult_evasion": FLAG,
    "long_insult": FLAG,
    "benign_identity": APPROVE,
    "negated_hate": APPROVE,
    "counter_speech": APPROVE,
    "benign_violence": APPROVE,
}

_CYRILLIC = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e", "i": "\u0456"})
_LEET = str.maketrans({"i": "1", "o": "0", "e": "3", "a": "@", "s": "$"})


def evasions(word: str) -> dict[str, str]:
    """The word written evasive ways: each key an evasion, each value the word so written.

    ``joined`` is a marker, not a spelling: the word is written as is, and the case glues it
    to the word before it (the space removed).
    """
    middle = len(word) // 2
    vowels = [i for i, c in enumerate(word) if c in "aeiou" and 0 < i < len(word) - 1]
    dropped = vowels[0] if vowels else middle
    return {
        "leet": word.translate(_LEET),
        "spaced": " ".join(word),
        "cyrillic": word.translate(_CYRILLIC),
        "zero_width": "\u200b".join(word),
        "stretched": word[:-1] + word[-1] * 4 if word[-1] in "aeiouty" else word + word[-1] * 3,
        "swapped": word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :],
        "dropped": word[:dropped] + word[dropped + 1 :],
        "joined": word,
    }


def evade(text: str, word: str, name: str, evaded: str) -> str:
    """``text`` with ``word`` written the ``name`` way (``joined``: the space before it removed)."""
    if name == "joined":
        return text.replace(f" {word}", word, 1)
    return text.replace(word, evaded, 1)


@dataclass(frozen=True)
class Case:
    functionality: str
    text: str
    variant: str = ""


def cases(seed: int = 0) -> Iterator[Case]:
    """Every case of the suite (deterministic), each text once."""
    seen: set[str] = set()
    for case in _all_cases(seed):
        if case.text not in seen:
            seen.add(case.text)
            yield case


def _all_cases(seed: int) -> Iterator[Case]:
    rng = random.Random(seed)  # noqa: S311 - reproducible positions, not a secret
    for text in THREAT_DIRECT:
        yield Case("threat_direct", text)
        yield Case("threat_direct", text.lower().rstrip("."))
    for text in THREAT_IMPLICIT:
        yield Case("threat_implicit", text)
        yield Case("threat_implicit", text.lower().rstrip("."))
    for text in THREAT_UNSEEN:
        yield Case("threat_unseen", text)
        yield Case("threat_unseen", text.lower().rstrip("."), "lower")
    for text in BENIGN_VIOLENCE:
        yield Case("benign_violence", text)
        yield Case("benign_violence", text.lower().rstrip("."), "lower")
    for template in THREAT_NORMATIVE:
        for target in THREAT_TARGETS:
            text = template.format(t=target)
            yield Case("threat_normative", text[0].upper() + text[1:])
            yield Case("threat_normative", text.lower().rstrip("."), "lower")
    for functionality, templates in (
        ("identity_attack", ATTACK_TEMPLATES),
        ("identity_question", QUESTION_TEMPLATES),
        ("identity_clause", CLAUSE_TEMPLATES),
    ):
        for template in templates:
            for group in GROUPS:
                text = template.format(group=group)
                yield Case(functionality, text[0].upper() + text[1:])
                yield Case(functionality, text.lower(), "lower")
    for template, word in HATE_WORDS.items():
        for group in GROUPS:
            text = template.format(group=group)
            text = text[0].upper() + text[1:]
            for name, evaded in evasions(word).items():
                yield Case("hate_evasion", evade(text, word, name, evaded), name)
    for template in INSULT_TEMPLATES:
        for word in INSULTS:
            plain = template.format(a="an" if word[0] in "aeiou" else "a", w=word)
            yield Case("insult_plain", plain)
            for name, evaded in evasions(word).items():
                yield Case("insult_evasion", evade(plain, word, name, evaded), name)
    for length in (3_000, 8_000, 20_000):
        for word in INSULTS:
            filler = "".join(rng.choice(NEWS) for _ in range(length // 80))
            cut = filler.find(". ", rng.randrange(len(filler))) + 2
            insult = f"Honestly, whoever wrote this is a {word}. "
            yield Case("long_insult", filler[:cut] + insult + filler[cut:], str(length))
    for template in BENIGN_TEMPLATES:
        for identity in IDENTITIES:
            text = template.format(i=identity)
            yield Case("benign_identity", text)
            yield Case("benign_identity", text.lower(), "lower")
    for template in NEGATED_TEMPLATES:
        for group in GROUPS:
            text = template.format(group=group)
            yield Case("negated_hate", text[0].upper() + text[1:])
            yield Case("negated_hate", text.lower(), "lower")
    for template in COUNTER_TEMPLATES:
        for group in GROUPS:
            text = template.format(group=group)
            yield Case("counter_speech", text)
            yield Case("counter_speech", text.lower(), "lower")


def run(
    scorer: Any,
    policy: Policy | None = None,
    limit: int | None = None,
    only: set[str] | None = None,
) -> dict:
    """Decide every case (of the ``only`` functionalities) with ``scorer`` and ``policy``.

    Rates per functionality, and for evasions per way of evading (``by_variant``).
    """
    policy = policy or Policy()
    selected = [case for case in cases() if only is None or case.functionality in only]
    if limit is not None:
        # Every functionality keeps its share; a stride keeps variety.
        by_kind: dict[str, list[Case]] = defaultdict(list)
        for case in selected:
            by_kind[case.functionality].append(case)
        selected = []
        for group in by_kind.values():
            step = max(1, len(group) // max(1, limit // len(by_kind)))
            selected += group[::step]
    jobs = [Job(0, 0, case.text, policy, [], 0.0) for case in selected]
    results = score(jobs, scorer) if jobs else []
    tallies: dict[str, dict[str, Any]] = {}
    for case, job, scores in zip(selected, jobs, results, strict=True):
        decision = decide(
            policy, toxicity=scores, spam=None, rule_hits=job.rule_hits, model=scorer.name
        )
        flagged = decision.action in ("hold", "reject")
        tally = tallies.setdefault(
            case.functionality,
            {"expected": EXPECTED[case.functionality], "n": 0, "flagged": 0, "rejected": 0,
             "failures": [], "variants": defaultdict(lambda: [0, 0])},
        )  # fmt: skip
        tally["n"] += 1
        tally["flagged"] += flagged
        tally["rejected"] += decision.action == "reject"
        passed = flagged if EXPECTED[case.functionality] == FLAG else not flagged
        if case.functionality.endswith("_evasion"):
            tally["variants"][case.variant][0] += passed
            tally["variants"][case.variant][1] += 1
        if not passed and len(tally["failures"]) < 5:
            tally["failures"].append(case.text[:120])
    report = {}
    for name, tally in tallies.items():
        n = tally["n"]
        rate = tally["flagged"] / n
        report[name] = {
            "expected": tally["expected"],
            "n": n,
            "held_or_rejected": round(rate, 3),
            "rejected": round(tally["rejected"] / n, 3),
            "approved": round(1 - rate, 3),
            "pass_rate": round(rate if tally["expected"] == FLAG else 1 - rate, 3),
            "examples_failed": tally["failures"],
        }
        if tally["variants"]:
            report[name]["by_variant"] = {
                variant: round(ok / n, 3) for variant, (ok, n) in sorted(tally["variants"].items())
            }
    return report
