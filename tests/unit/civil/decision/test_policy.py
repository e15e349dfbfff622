from datetime import UTC, datetime

from civil.decision.policy import Policy, Reason, decide
from civil.scoring import TOXICITY_LABELS

CLEAN = dict.fromkeys(TOXICITY_LABELS, 0.01)


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
    rejected = decide(policy, toxicity=scores(toxicity=0.97), spam=0.0, rule_hits=[], model="m")
    assert rejected.action == "reject" and rejected.reasons[0].code == "toxic"


def test_site_thresholds_override_defaults():
    policy = Policy.from_dict({"thresholds": {"threat": 0.3}, "hold_thresholds": {"threat": 0.2}})
    assert policy.thresholds["toxicity"] == 0.92  # untouched labels keep defaults
    d = decide(policy, toxicity=scores(threat=0.35), spam=0.0, rule_hits=[], model="m")
    assert d.action == "reject"


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
    d = decide(policy, toxicity=scores(toxicity=0.99), spam=0.0, rule_hits=[], model="m")
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
