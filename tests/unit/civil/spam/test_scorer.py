"""The combiner: stateful signals, explanations, clipping, the shipped model and the policy."""

from __future__ import annotations

import time

from civil.decision.policy import Policy, decide
from civil.spam.features import SpamInput, extract
from civil.spam.scorer import FAMILIES, SpamFacts, combine
from civil.spam.textmodel import DEFAULT_DIR, SpamTextModel

ITEM = SpamInput("Good points about the budget, see https://budget-notes.example for more.")


def _p(text_logit: float, facts: SpamFacts, disabled=frozenset()) -> float:
    return combine(text_logit, extract(ITEM), facts, disabled=disabled).probability


def test_shipped_model_loads_fast_and_ranks_spam_above_ham():
    began = time.process_time()
    model = SpamTextModel.load(DEFAULT_DIR)
    assert time.process_time() - began < 1.0
    assert model.linear.labels == ("spam",) and model.version != "unversioned"
    spam, ham = model.logits(
        [
            "WINNER!! You have been selected for a 1000 cash prize, call 09061701461 to claim",
            "I think the council should have consulted the residents before the vote.",
        ]
    )
    assert spam > 2 > -2 > ham


def test_model_files_hold_no_pickle():
    import numpy as np

    with np.load(DEFAULT_DIR / "weights.npz", allow_pickle=False) as arrays:
        assert {"weights", "scale"} <= set(arrays.files)


def test_velocity_raises_the_score():
    calm = _p(-1.0, SpamFacts(author_recent=1))
    busy = _p(-1.0, SpamFacts(author_recent=8, ip_recent=12, domain_recent=5))
    assert busy > calm + 0.4
    assert _p(-1.0, SpamFacts(author_recent=8), {"velocity"}) == _p(-1.0, SpamFacts())


def test_near_duplicates_and_site_labels():
    base = _p(-1.0, SpamFacts())
    assert _p(-1.0, SpamFacts(near_duplicates=3)) > base + 0.4
    assert _p(-1.0, SpamFacts(labelled_spam_similarity=0.9)) > 0.9
    assert _p(1.0, SpamFacts(labelled_ham_similarity=0.95)) < _p(1.0, SpamFacts())


def test_reputation_is_smoothed_log_odds_and_bounded():
    one = SpamFacts(reputation=(("link_domain", "budget-notes.example", 1, 0),))
    many = SpamFacts(reputation=(("link_domain", "budget-notes.example", 50, 0),) * 5)
    ham = SpamFacts(reputation=(("link_domain", "budget-notes.example", 0, 3),))
    assert _p(-1.0, one) > _p(-1.0, SpamFacts()) + 0.3
    assert combine(-1.0, extract(ITEM), many).signals[0].contribution == 6.0  # the cap
    assert _p(-1.0, ham) < _p(-1.0, SpamFacts())


def test_text_logit_is_clipped_so_labels_can_outvote_it():
    facts = SpamFacts(reputation=(("link_domain", "budget-notes.example", 0, 4),))
    assert _p(30.0, facts) < _p(30.0, SpamFacts())
    assert _p(30.0, SpamFacts()) < 0.999


def test_every_family_can_be_switched_off():
    facts = SpamFacts(author_recent=9, near_duplicates=2, labelled_spam_similarity=0.8)
    result = combine(0.5, extract(ITEM), facts, disabled=frozenset(FAMILIES))
    assert result.signals == () and result.probability == 0.5


def test_explanation_reaches_the_spam_reason_and_discard_tier():
    result = combine(3.0, extract(ITEM), SpamFacts(near_duplicates=3, author_recent=9))
    decision = decide(
        Policy(),
        toxicity={},
        spam=result.probability,
        rule_hits=[],
        model="m",
        spam_explanation=result.explanation(),
    )
    [reason] = [r for r in decision.reasons if r.code.startswith("spam")]
    assert reason.code == "spam_discard" and reason.extra["discard"] is True
    signals = reason.to_dict()["signals"]
    assert {s["family"] for s in signals} >= {"text", "duplicate", "velocity", "links"}
    assert signals == sorted(signals, key=lambda s: -abs(s["contribution"]))
    off = decide(
        Policy(spam_discard_threshold=None),
        toxicity={},
        spam=result.probability,
        rule_hits=[],
        model="m",
        spam_explanation=result.explanation(),
    )
    assert [r.code for r in off.reasons] == ["spam"] and off.action == "reject"
