"""OpenAI moderation shapes over Civil's labels."""

from __future__ import annotations

import pytest

from civil.compat.moderation import (
    CATEGORY_SOURCES,
    ModerationError,
    moderation_response,
    moderation_result,
    parse_inputs,
)
from civil.decision.policy import DEFAULT_HOLD, DEFAULT_REJECT
from civil.scoring import TOXICITY_LABELS


def parse(body):
    return parse_inputs(body, max_chars=100)


def test_inputs_as_string_list_or_text_parts():
    assert parse({"input": "hi"}) == ["hi"]
    assert parse({"input": ["a", "b"]}) == ["a", "b"]
    assert parse({"input": [{"type": "text", "text": "c"}]}) == ["c"]
    assert parse({"input": "x" * 100}) == ["x" * 100]


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"input": []},
        {"input": 5},
        {"input": [1]},
        {"input": [{"type": "image_url", "image_url": {"url": "x"}}]},
        {"input": ["x"] * 33},
        # Each text is held to the comment length limit.
        {"input": "x" * 101},
        {"input": ["ok", {"type": "text", "text": "x" * 101}]},
    ],
)
def test_bad_inputs_are_openai_errors(body):
    with pytest.raises(ModerationError) as caught:
        parse(body)
    error = caught.value.body()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "input"


def test_categories_follow_their_civil_labels_and_the_site_thresholds():
    scores = dict.fromkeys(TOXICITY_LABELS, 0.1) | {"insult": 0.95, "threat": 0.5}
    site = {**DEFAULT_REJECT, "insult": 0.92}
    result = moderation_result(scores, site, DEFAULT_HOLD)
    assert result["category_scores"]["harassment"] == 0.95
    assert result["categories"]["harassment"] is True  # 0.95 >= the site's insult reject 0.92
    # harassment/threatening needs both insult and threat: its score is the smaller one.
    assert result["category_scores"]["harassment/threatening"] == 0.5
    assert result["categories"]["harassment/threatening"] is False
    assert (
        result["category_scores"]["violence"] == 0.5 and result["categories"]["violence"] is False
    )
    assert result["category_scores"]["hate"] == 0.1
    assert result["flagged"] is True
    assert set(result["categories"]) == set(CATEGORY_SOURCES)


def test_a_label_with_no_reject_threshold_makes_its_category_at_the_hold_threshold():
    # The default policy never auto-rejects insults: harassment follows insult's hold.
    assert "insult" not in DEFAULT_REJECT
    held = dict.fromkeys(TOXICITY_LABELS, 0.0) | {"insult": DEFAULT_HOLD["insult"]}
    result = moderation_result(held, DEFAULT_REJECT, DEFAULT_HOLD)
    assert result["flagged"] is True and result["categories"]["harassment"] is True
    below = held | {"insult": DEFAULT_HOLD["insult"] - 0.01}
    result = moderation_result(below, DEFAULT_REJECT, DEFAULT_HOLD)
    assert result["flagged"] is False and result["categories"]["harassment"] is False
    # A site that rejects insults at 0.92 makes harassment only there (flagged from its hold).
    strict = moderation_result(held, {**DEFAULT_REJECT, "insult": 0.92}, DEFAULT_HOLD)
    assert strict["flagged"] is True and strict["categories"]["harassment"] is False
    # No threshold at all for a label: its category is never true.
    assert moderation_result(held, {}, {})["categories"]["harassment"] is False


def test_unmeasured_categories_are_zero_and_say_so():
    result = moderation_result(dict.fromkeys(TOXICITY_LABELS, 0.99), DEFAULT_REJECT, DEFAULT_HOLD)
    for category, labels in CATEGORY_SOURCES.items():
        if not labels:
            assert result["category_scores"][category] == 0.0
            assert result["categories"][category] is False
            assert result["category_applied_input_types"][category] == []


def test_flagged_tracks_any_hold_or_reject_threshold_even_without_a_category():
    profane = dict.fromkeys(TOXICITY_LABELS, 0.0) | {"obscene": 0.97}
    result = moderation_result(profane, DEFAULT_REJECT, DEFAULT_HOLD)
    assert result["flagged"] is True and not any(result["categories"].values())
    # Reject thresholds alone flag too (a caller passing no hold map).
    assert moderation_result(profane, {"obscene": 0.95})["flagged"] is True
    assert moderation_result(profane, DEFAULT_REJECT)["flagged"] is False
    # A stricter site flags lower scores.
    mild = dict.fromkeys(TOXICITY_LABELS, 0.2)
    assert moderation_result(mild, DEFAULT_REJECT, DEFAULT_HOLD)["flagged"] is False
    assert moderation_result(mild, dict.fromkeys(TOXICITY_LABELS, 0.15))["flagged"] is True


def test_response_envelope():
    answer = moderation_response("civil:x", [])
    assert answer["id"].startswith("modr-") and answer["model"] == "civil:x"
    assert moderation_response("m", [])["id"] != answer["id"]
