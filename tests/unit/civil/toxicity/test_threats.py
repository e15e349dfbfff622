"""The threat grammar (civil.toxicity.threats): what it reads as a threat, what it leaves alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from civil.decision.policy import Policy, decide
from civil.toxicity.threats import STRENGTH, ThreatRuleScorer, apply, find, threat_score

MODELS = Path(__file__).resolve().parents[4] / "models"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I will hurt you badly.", "direct"),
        ("i'm gonna break your legs", "direct"),
        ("We are going to burn your house down.", "direct"),
        ("I swear I'll personally strangle you", "direct"),
        ("I'll make you bleed.", "direct"),
        ("Keep talking and I will beat you until you stop breathing.", "direct"),
        ("One more post and you're dead.", "direct"),
        ("That senator should be shot.", "normative"),
        ("The strikers deserve to be hanged in public.", "normative"),
        ("Somebody needs to run the judge over with a truck.", "normative"),
        ("Someone should put a bullet in him.", "normative"),
        ("I know where you live.", "veiled"),
        ("Watch your back tonight.", "veiled"),
    ],
)
def test_threats_are_read_with_their_kind(text, kind):
    matches = find(text)
    assert [m.kind for m in matches] == [kind], matches


@pytest.mark.parametrize(
    "text",
    [
        "I'll beat you at chess tomorrow.",  # 'beat' needs a violent completion
        "I'll shoot you an email with the details.",
        "I would never hurt you.",  # negated
        "I don't want to kill anyone.",
        "We are going to beat them on Saturday.",
        "My mom will kill me if I am late.",  # the speaker is the object
        "I will kill this bug before the release.",  # no person
        "The police said the suspect was shot.",
        'Posts saying "Muslims should be wiped out" have no place here.',  # quoted speech
        "“I will kill you” is what he wrote, and he was banned for it.",
    ],
)
def test_harmless_sentences_with_violent_words_are_left_alone(text):
    assert find(text) == []


def test_evasions_do_not_hide_a_threat_and_spans_point_at_the_original():
    text = "ok then. i w1ll k\u200bill y0u"
    (match,) = find(text)
    assert match.kind == "direct"
    assert text[match.start : match.end] == "i w1ll k\u200bill y0u"


def test_a_threat_buried_in_a_long_comment_is_found():
    news = "The council approved the budget after a long debate about roads. " * 300
    text = news + "Say that again and I will shoot you. " + news
    (match,) = find(text)
    assert text[match.start : match.end].lower().startswith("i will shoot you")


def test_scores_are_only_raised_and_a_rule_alone_holds_rather_than_rejects():
    assert apply({"threat": 0.9, "toxicity": 0.9}, find("I will hurt you.")) == {
        "threat": 0.9,
        "toxicity": 0.9,
    }
    raised = apply({"threat": 0.01, "toxicity": 0.1}, find("I will hurt you."))
    assert raised == {"threat": STRENGTH["direct"], "toxicity": 0.5}
    assert apply({"threat": 0.01}, []) == {"threat": 0.01}
    assert threat_score([]) == 0.0
    policy = Policy()
    # Between the default hold and reject thresholds: a moderator sees it, nothing is refused
    # on the rule's word alone.
    assert policy.hold_thresholds["threat"] <= min(STRENGTH.values())
    assert max(STRENGTH.values()) < policy.thresholds["threat"]
    decision = decide(policy, toxicity=raised, spam=None, rule_hits=[], model="m")
    assert decision.action == "hold"
    assert any(reason.extra.get("label") == "threat" for reason in decision.reasons)


class _Quiet:
    name = "quiet"

    def score_batch(self, texts):
        return [{"toxicity": 0.02, "threat": 0.01} for _ in texts]

    def explain(self, text, label):
        return [(0, 1, 0.5)]


def test_the_wrapper_raises_threat_keeps_the_name_and_explains_with_the_threat_words():
    scorer = ThreatRuleScorer(_Quiet())
    assert scorer.name == "quiet"
    calm, threat = scorer.score_batch(["Thanks for the article.", "Thanks. I will stab you."])
    assert calm == {"toxicity": 0.02, "threat": 0.01}
    assert threat["threat"] == STRENGTH["direct"]
    spans = scorer.explain("Thanks. I will stab you.", "threat")
    assert [(start, end) for start, end, _ in spans] == [(8, 23)]
    assert scorer.explain("Thanks.", "threat") == [(0, 1, 0.5)]  # the model's, when no rule
    assert scorer.score_batch_detailed(["x"]) == [({"toxicity": 0.02, "threat": 0.01}, 1)]


def test_the_default_cascade_reads_threats():
    from civil.toxicity.loader import load_scorer

    scorer = load_scorer("cascade", MODELS)
    (scores,) = scorer.score_batch(["I know where you live and I will find you."])
    assert scores["threat"] >= STRENGTH["veiled"]
