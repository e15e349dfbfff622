"""The statement of reasons: only rejections, the first rejecting ground, plain language."""

from civil.decision.policy import Policy, Reason, decide
from civil.decision.statement import FALLBACK, statement_for


def test_only_rejections_have_a_statement():
    assert statement_for("approve", "auto", [{"code": "clean"}]) is None
    assert statement_for("hold", "auto", [{"code": "toxic", "action": "hold"}]) is None


def test_the_ground_is_the_first_rejecting_reason():
    reasons = [
        {"code": "toxic_insult", "action": "hold"},
        {"code": "toxic_threat", "action": "reject"},
        {"code": "spam", "action": "reject"},
    ]
    statement = statement_for("reject", "auto", reasons)
    assert statement["code"] == "toxic_threat" and "threat" in statement["text"]
    assert statement["automated"] is True and statement["decided_by"] == "auto"


def test_a_moderators_reject_reason_is_the_ground():
    reason = {"code": "moderator_reject", "action": "reject", "reason": "off-topic"}
    statement = statement_for("reject", "moderator", [reason])
    assert statement["code"] == "off-topic" and "off-topic" in statement["text"]
    assert statement["automated"] is False


def test_an_unknown_code_gets_the_general_sentence_never_internals():
    statement = statement_for("reject", "auto", [{"code": "rate_ip", "action": "reject"}])
    assert statement["text"] == FALLBACK


def test_an_automatic_rejection_stores_its_statement():
    decision = decide(
        Policy(banned_words=["darn"]),
        toxicity={"toxicity": 0.01},
        spam=0.0,
        rule_hits=[Reason("banned_word", "banned word", "reject")],
        model="test",
    ).to_dict()
    assert decision["statement"]["code"] == "banned_word"
    assert "does not allow" in decision["statement"]["text"]
