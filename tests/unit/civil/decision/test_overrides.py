"""Pure parts of policy tuning: overrides, automatic standing rules, diffs, windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from civil.decision.policy import Policy, decide
from civil.decision.rules import RuleFacts, standing_hits
from civil.errors import InvalidInput
from civil.tuning.calibration import Point, curve, propose
from civil.tuning.versions import policy_diff
from civil.tuning.window import parse_moment


def test_article_overrides_win_over_section_overrides_over_the_site() -> None:
    policy = Policy(
        sections={"politics": {"mode": "pre", "hold_thresholds": {"toxicity": 0.4}}},
        articles={"a-1": {"mode": "post", "hold_thresholds": {"insult": 0.3}}},
    )
    effective, origin = policy.effective("a-1", "politics")
    assert effective.mode == "post" and origin["mode"] == "article:a-1"
    assert effective.hold_thresholds["toxicity"] == 0.4
    assert effective.hold_thresholds["insult"] == 0.3
    assert effective.hold_thresholds["threat"] == policy.hold_thresholds["threat"]
    assert "thresholds.toxicity" not in origin
    assert policy.effective("a-2", "sport") == (policy, {})


def test_standing_rules() -> None:
    policy = Policy(trust_after_approved=3, premoderate_first=2, rejection_rate_limit=0.5)
    earned = standing_hits(policy, RuleFacts(author_approved=3, author_earlier=3))
    assert [h.code for h in earned] == ["author_earned_trust"]
    spoiled = standing_hits(
        policy, RuleFacts(author_approved=3, author_rejected=1, author_earlier=4)
    )
    assert spoiled == []
    assert [h.code for h in standing_hits(policy, RuleFacts(author_earlier=1))] == ["author_new"]
    rate = RuleFacts(author_earlier=5, author_recent_decided=4, author_recent_rejected=2)
    assert [h.code for h in standing_hits(policy, rate)] == ["author_rejection_rate"]
    few = RuleFacts(author_earlier=5, author_recent_decided=2, author_recent_rejected=2)
    assert standing_hits(policy, few) == []
    assert standing_hits(Policy(), RuleFacts(author_approved=50)) == []


def test_earned_trust_skips_holds_but_not_rejects() -> None:
    [trust] = standing_hits(Policy(trust_after_approved=1), RuleFacts(author_approved=1))
    held = decide(Policy(), toxicity={"toxicity": 0.7}, spam=0.0, rule_hits=[trust], model="m")
    rejected = decide(Policy(), toxicity={"threat": 0.99}, spam=0.0, rule_hits=[trust], model="m")
    assert (held.action, rejected.action) == ("approve", "reject")
    # By default plain toxicity only holds, so trust publishes it; a site's reject threshold
    # still rejects it.
    strict = Policy.from_dict({"thresholds": {"toxicity": 0.92}})
    rude = {"toxicity": 0.99}
    assert decide(Policy(), toxicity=rude, spam=0.0, rule_hits=[trust], model="m").action == (
        "approve"
    )
    assert decide(strict, toxicity=rude, spam=0.0, rule_hits=[trust], model="m").action == (
        "reject"
    )


def test_policy_diff_names_each_changed_key() -> None:
    before = {"mode": "post", "thresholds": {"toxicity": 0.9, "insult": 0.9}, "articles": {}}
    after = {"mode": "post", "thresholds": {"toxicity": 0.8, "insult": 0.9}, "articles": {"a": {}}}
    assert policy_diff(before, after) == {
        "thresholds.toxicity": {"from": 0.9, "to": 0.8},
        "articles.a": {"from": None, "to": {}},
    }


def test_calibration_proposes_the_lowest_threshold_reaching_the_target() -> None:
    pairs = [(0.3, False)] * 10 + [(0.5, False)] * 2 + [(0.7, True)] * 8
    points = {p.threshold: p for p in curve(pairs)}
    assert points[0.5] == Point(0.5, 10, 8) and points[0.5].precision == 0.8
    assert propose(list(points.values()), 0.8) == 0.31
    assert propose(list(points.values()), 0.95) == 0.51
    assert propose(list(points.values()), 1.0) == 0.51
    assert propose(curve([(0.9, True)] * 3), 0.5) is None  # too few flagged to measure


def test_windows() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert parse_moment("90m", now) == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert parse_moment("2026-12-01T10:00:00Z") == datetime(2026, 12, 1, 10, tzinfo=UTC)
    for bad in ("yesterday", "2026-12-01T10:00:00"):
        with pytest.raises(InvalidInput):
            parse_moment(bad)
