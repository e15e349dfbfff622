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
from civil.decision.policy import DEFAULT_REJECT
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
    result = moderation_result(scores, DEFAULT_REJECT)
    assert result["category_scores"]["harassment"] == 0.95
    assert result["categories"]["harassment"] is True  # 0.95 >= insult's 0.92
    # harassment/threatening needs both insult and threat: its score is the smaller one.
    assert result["category_scores"]["harassment/threatening"] == 0.5
    assert result["categories"]["harassment/threatening"] is False
    assert (
        result["category_scores"]["violence"] == 0.5 and result["categories"]["violence"] is False
    )
    assert result["category_scores"]["hate"] == 0.1
    assert result["flagged"] is True
    assert set(result["categories"]) == set(CATEGORY_SOURCES)


def test_unmeasured_categories_are_zero_and_say_so():
    result = moderation_result(dict.fromkeys(TOXICITY_LABELS, 0.99), DEFAULT_REJECT)
    for category, labels in CATEGORY_SOURCES.items():
        if not labels:
            assert result["category_scores"][category] == 0.0
            assert result["categories"][category] is False
            assert result["category_applied_input_types"][category] == []


def test_flagged_tracks_any_reject_threshold_even_without_a_category():
    profane = dict.fromkeys(TOXICITY_LABELS, 0.0) | {"obscene": 0.97}
    result = moderation_result(profane, DEFAULT_REJECT)
    assert result["flagged"] is True and not any(result["categories"].values())
    # A stricter site flags lower scores.
    mild = dict.fromkeys(TOXICITY_LABELS, 0.3)
    assert moderation_result(mild, DEFAULT_REJECT)["flagged"] is False
    assert moderation_result(mild, dict.fromkeys(TOXICITY_LABELS, 0.25))["flagged"] is True


def test_response_envelope():
    answer = moderation_response("civil:x", [])
    assert answer["id"].startswith("modr-") and answer["model"] == "civil:x"
    assert moderation_response("m", [])["id"] != answer["id"]
