from datetime import UTC, datetime

import pytest

from civil.decision.policy import DEFAULT_HOLD, DEFAULT_REJECT, Policy, Reason, decide
from civil.scoring import TOXICITY_LABELS
from civil.tuning.versions import validate_policy
from tests.support.policies import EARLIER_REJECT

CLEAN = dict.fromkeys(TOXICITY_LABELS, 0.01)
SEVERE = ("severe_toxicity", "threat", "identity_attack")
ORDINARY = {"toxicity": "toxic", "insult": "toxic_insult", "obscene": "toxic_obscene"}


def scores(**over: float) -> dict[str, float]:
    return {**CLEAN, **over}


def test_clean_comment_is_approved_with_a_reason():
    d = decide(Policy(), toxicity=CLEAN, spam=0.01, rule_hits=[], model="m")
    assert d.action == "approve" and d.status == "approved"
    assert [r.code for r in d.reasons] == ["clean"]
    assert d.to_dict()["scores"] == {"toxicity": CLEAN, "spam": 0.01}


def test_hold_band_and_reject_band_per_label():
    policy = Policy()
    held = decide(policy, toxicity=scores(insult=0.7), spam=0.0, rule_hits=[], model="m")
    assert held.action == "hold"
    reason = held.reasons[0]
    assert reason.code == "toxic_insult" and reason.extra["threshold"] == 0.65
    rejected = decide(policy, toxicity=scores(threat=0.97), spam=0.0, rule_hits=[], model="m")
    assert rejected.action == "reject" and rejected.reasons[0].code == "toxic_threat"


def test_default_rejects_only_severe_harm():
    assert set(DEFAULT_REJECT) == set(SEVERE)
    assert set(DEFAULT_HOLD) == set(TOXICITY_LABELS)  # every label still holds
    assert all(DEFAULT_HOLD[label] < DEFAULT_REJECT[label] for label in SEVERE)


@pytest.mark.parametrize(("label", "code"), sorted(ORDINARY.items()))
def test_ordinary_incivility_is_held_not_rejected_at_any_score(label, code):
    for value in (DEFAULT_HOLD[label], 0.99, 1.0):
        d = decide(Policy(), toxicity=scores(**{label: value}), spam=0.0, rule_hits=[], model="m")
        assert d.action == "hold" and d.status == "held"
        [reason] = d.reasons
        assert (reason.code, reason.action, reason.extra["threshold"]) == (
            code,
            "hold",
            DEFAULT_HOLD[label],
        )


def test_a_plain_insult_with_every_ordinary_label_high_is_held():
    rude = scores(toxicity=0.99, insult=0.99, obscene=0.97)
    d = decide(Policy(), toxicity=rude, spam=0.0, rule_hits=[], model="m")
    assert d.action == "hold"
    assert {r.code for r in d.reasons} == {"toxic", "toxic_insult", "toxic_obscene"}


@pytest.mark.parametrize("label", SEVERE)
def test_high_confidence_severe_harm_is_rejected(label):
    limit = DEFAULT_REJECT[label]
    d = decide(Policy(), toxicity=scores(**{label: limit}), spam=0.0, rule_hits=[], model="m")
    assert d.action == "reject" and d.status == "rejected"
    assert d.reasons[0].extra == {"label": label, "score": limit, "threshold": limit}
    below = decide(
        Policy(), toxicity=scores(**{label: limit - 0.01}), spam=0.0, rule_hits=[], model="m"
    )
    assert below.action == "hold"  # under the reject threshold: a moderator decides


def test_site_thresholds_override_defaults():
    policy = Policy.from_dict({"thresholds": {"threat": 0.3}, "hold_thresholds": {"threat": 0.2}})
    # Untouched labels keep the defaults: severe harm rejects, ordinary incivility only holds.
    assert policy.thresholds == {**DEFAULT_REJECT, "threat": 0.3}
    assert policy.hold_thresholds == {**DEFAULT_HOLD, "threat": 0.2}
    d = decide(policy, toxicity=scores(threat=0.35), spam=0.0, rule_hits=[], model="m")
    assert d.action == "reject"


def test_a_site_may_reject_ordinary_incivility_with_its_own_threshold():
    policy = Policy.from_dict({"thresholds": {"insult": 0.9}})
    d = decide(policy, toxicity=scores(insult=0.95), spam=0.0, rule_hits=[], model="m")
    assert d.action == "reject" and d.reasons[0].code == "toxic_insult"
    default = decide(Policy(), toxicity=scores(insult=0.95), spam=0.0, rule_hits=[], model="m")
    assert default.action == "hold"


def test_a_site_that_stored_the_earlier_defaults_keeps_them():
    # Sites store their whole policy, defaults filled in, when created (validate_policy): a
    # site created before keeps rejecting what it rejected.
    stored = {"thresholds": dict(EARLIER_REJECT), "hold_thresholds": dict(DEFAULT_HOLD)}
    policy = Policy.from_dict(stored)
    assert policy.thresholds == EARLIER_REJECT
    d = decide(policy, toxicity=scores(insult=0.95), spam=0.0, rule_hits=[], model="m")
    assert d.action == "reject" and d.reasons[0].code == "toxic_insult"
    assert Policy.from_dict(validate_policy(stored)).thresholds == EARLIER_REJECT


def test_a_new_site_stores_todays_defaults_and_a_site_with_none_stored_reads_them():
    created = validate_policy(None)
    assert created["thresholds"] == DEFAULT_REJECT
    assert created["hold_thresholds"] == DEFAULT_HOLD
    for stored in (None, {}, {"mode": "pre"}, {"thresholds": {}}):
        assert Policy.from_dict(stored).thresholds == DEFAULT_REJECT


def test_spam_reasons_start_with_spam():
    d = decide(Policy(), toxicity=CLEAN, spam=0.7, rule_hits=[], model="m")
    assert d.action == "hold" and all(r.code.startswith("spam") for r in d.reasons)
    d = decide(Policy(), toxicity=CLEAN, spam=0.99, rule_hits=[], model="m")
    assert d.action == "reject"


def test_most_severe_action_wins_and_all_reasons_are_kept():
    hits = [Reason("suspect_word", "x", "hold"), Reason("banned_word", "y", "reject")]
    d = decide(Policy(), toxicity=scores(insult=0.7), spam=0.0, rule_hits=hits, model="m")
    assert d.action == "reject"
    assert {r.code for r in d.reasons} == {"suspect_word", "banned_word", "toxic_insult"}


def test_scorer_failure_follows_site_policy():
    for action in ("approve", "hold", "reject"):
        policy = Policy.from_dict({"on_scorer_failure": action})
        d = decide(
            policy,
            toxicity=None,
            spam=0.0,
            rule_hits=[],
            model="unavailable",
            scorer_error="model missing",
        )
        assert d.action == action
        assert d.reasons[0].code == "scorer_unavailable"


def test_banned_word_rejects_even_when_failure_policy_approves():
    policy = Policy.from_dict({"on_scorer_failure": "approve"})
    d = decide(
        policy,
        toxicity=None,
        spam=0.0,
        rule_hits=[Reason("banned_word", "b", "reject")],
        model="x",
        scorer_error="boom",
    )
    assert d.action == "reject"


def test_premoderation_holds_what_would_be_approved_but_still_rejects():
    policy = Policy.from_dict({"mode": "pre"})
    d = decide(policy, toxicity=CLEAN, spam=0.0, rule_hits=[], model="m")
    assert d.action == "hold" and d.reasons[-1].code == "premoderation"
    d = decide(policy, toxicity=scores(severe_toxicity=0.99), spam=0.0, rule_hits=[], model="m")
    assert d.action == "reject"


def test_decision_dict_shape():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    d = decide(Policy(), toxicity=CLEAN, spam=0.0, rule_hits=[], model="detoxify:x", now=now)
    out = d.to_dict()
    assert set(out) == {"action", "decided_by", "reasons", "scores", "model", "decided_at"}
    assert out["decided_by"] == "auto" and out["decided_at"] == "2026-01-02T03:04:05Z"
    assert all({"code", "detail"} <= set(r) for r in out["reasons"])


def test_blatant_spam_reaches_the_discard_tier() -> None:
    policy = Policy()
    decision = decide(policy, toxicity={}, spam=0.995, rule_hits=[], model="m")
    assert decision.action == "reject"
    assert [r.code for r in decision.reasons] == ["spam_discard"]
    assert decision.reasons[0].extra["discard"] is True
    lenient = Policy.from_dict({"spam_discard_threshold": 1.0})
    decision = decide(lenient, toxicity={}, spam=0.995, rule_hits=[], model="m")
    assert [r.code for r in decision.reasons] == ["spam"]
