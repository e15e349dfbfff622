"""Perspective request checking and response shaping (no model, no database)."""

from __future__ import annotations

import itertools

import pytest

from civil.compat.perspective import (
    ATTRIBUTES,
    AnalyzeRequest,
    PerspectiveError,
    analyze_response,
    guess_language,
    parse_analyze,
    parse_suggest,
    sentence_spans,
)
from civil.scoring import TOXICITY_LABELS

EN = ("en",)


def analyze(body, **kw):
    return parse_analyze(body, max_chars=kw.get("max_chars", 1000), supported=kw.get("sup", EN))


def body(**overrides):
    return {"comment": {"text": "You fool."}, "requestedAttributes": {"TOXICITY": {}}, **overrides}


def test_every_attribute_maps_to_a_distinct_civil_label():
    assert sorted(ATTRIBUTES.values()) == sorted(TOXICITY_LABELS)
    assert ATTRIBUTES["PROFANITY"] == "obscene"


def test_unknown_attribute_is_a_perspective_400_naming_it():
    with pytest.raises(PerspectiveError) as caught:
        analyze(body(requestedAttributes={"TOXICITY": {}, "FLIRTATION": {}}))
    error = caught.value.body()["error"]
    assert (caught.value.http_status, error["code"], error["status"]) == (
        400,
        400,
        "INVALID_ARGUMENT",
    )
    assert error["details"][0]["errorType"] == "INVALID_REQUESTED_ATTRIBUTE"
    assert error["details"][0]["attribute"] == "FLIRTATION"
    assert error["details"][0]["@type"].endswith("commentanalyzer.v1alpha1.Error")


@pytest.mark.parametrize(
    ("languages", "scored"),
    [(["en"], ["en"]), (["en-US"], ["en"]), (["fr", "en_GB"], ["en"]), (None, ["en"])],
)
def test_supported_languages_are_kept(languages, scored):
    assert analyze(body(languages=languages)).languages == scored


def test_unsupported_language_is_refused_not_scored_as_english():
    with pytest.raises(PerspectiveError) as caught:
        analyze(body(languages=["de"]))
    detail = caught.value.body()["error"]["details"][0]
    assert detail["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    assert detail["languageNotSupportedByAttributeError"]["requestedLanguages"] == ["de"]
    assert detail["languageNotSupportedByAttributeError"]["attribute"] == "TOXICITY"
    # A deployment that declares German accepts it.
    assert analyze(body(languages=["de"]), sup=("en", "de")).languages == ["de"]


def test_text_in_another_script_without_languages_is_refused():
    assert guess_language("Ты дурак и все это знают") == "und"
    assert guess_language("Café crème, s'il vous plaît") == "en"
    with pytest.raises(PerspectiveError):
        analyze(body(comment={"text": "Ты дурак и все это знают"}))


@pytest.mark.parametrize(
    ("change", "error_type"),
    [
        ({"comment": {"text": "   "}}, "COMMENT_EMPTY"),
        ({"requestedAttributes": {}}, "NO_REQUESTED_ATTRIBUTES"),
        ({"comment": {"text": "x" * 1001}}, "COMMENT_TOO_LONG"),
        ({"requestedAttributes": {"TOXICITY": {"scoreType": "STD_DEV_SCORE"}}}, None),
    ],
)
def test_bad_requests_are_perspective_errors(change, error_type):
    with pytest.raises(PerspectiveError) as caught:
        analyze(body(**change))
    details = caught.value.body()["error"].get("details", [{}])
    if error_type:
        assert details[0]["errorType"] == error_type


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        "x",
        {"comment": "text"},
        # An unhashable type once reached a dict lookup and answered 500.
        body(comment={"text": "hi", "type": ["HTML"]}),
    ],
)
def test_payloads_that_are_not_objects_are_refused(bad):
    with pytest.raises(PerspectiveError):
        analyze(bad)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, "high", True])
def test_score_threshold_must_be_a_probability(threshold):
    with pytest.raises(PerspectiveError):
        analyze(body(requestedAttributes={"TOXICITY": {"scoreThreshold": threshold}}))


def test_html_comments_are_scored_as_text_with_offsets_kept():
    parsed = analyze(body(comment={"text": "<b>You</b> fool.", "type": "HTML"}))
    assert len(parsed.text) == len("<b>You</b> fool.")
    assert parsed.text.split() == ["You", "fool."]


def test_sentence_spans_cover_each_sentence():
    text = "Good point.  You are wrong!\nReally? yes"
    spans = sentence_spans(text)
    assert [text[b:e] for b, e in spans] == ["Good point.", "You are wrong!", "Really?", "yes"]
    assert sentence_spans("no end") == [(0, 6)]


def test_many_sentences_are_grouped_into_a_bounded_number_of_spans():
    text = "No. " * 250
    spans = sentence_spans(text, max_spans=100)
    assert len(spans) <= 100
    # Runs of whole sentences, in order, covering every sentence.
    assert spans[0][0] == 0 and spans[-1][1] == len(text.rstrip())
    assert all(text[b:e].endswith("No.") for b, e in spans)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    assert sum(text[b:e].count("No.") for b, e in spans) == 250


def _request(**attributes):
    return AnalyzeRequest(
        text="abc",
        attributes=attributes,
        languages=["en"],
        detected=["en"],
        client_token="t",
    )


def test_response_drops_attributes_below_their_threshold_and_echoes_the_token():
    scores = dict.fromkeys(TOXICITY_LABELS, 0.3) | {"insult": 0.8}
    answer = analyze_response(
        _request(TOXICITY=0.5, INSULT=0.5, THREAT=None), scores, [(0, 3, scores)]
    )
    assert set(answer["attributeScores"]) == {"INSULT", "THREAT"}
    insult = answer["attributeScores"]["INSULT"]
    assert insult["summaryScore"] == {"value": 0.8, "type": "PROBABILITY"}
    assert insult["spanScores"] == [{"begin": 0, "end": 3, "score": insult["summaryScore"]}]
    assert answer["clientToken"] == "t" and answer["languages"] == ["en"]


def test_span_offsets_are_utf16_units_as_perspective_counts_them():
    # 😀 is one Python character but two UTF-16 units (one more per emoji before a span).
    sent = "<b>😀 Nice.</b> You 🤬 fool!"
    parsed = analyze(body(comment={"text": sent, "type": "HTML"}, spanAnnotations=True))
    assert parsed.sent == sent
    scores = dict.fromkeys(TOXICITY_LABELS, 0.1)
    spans = [(b, e, scores) for b, e in sentence_spans(parsed.text)]
    answer = analyze_response(parsed, scores, spans)
    units = sent.encode("utf-16-le")
    pieces = [
        units[2 * s["begin"] : 2 * s["end"]].decode("utf-16-le")
        for s in answer["attributeScores"]["TOXICITY"]["spanScores"]
    ]
    assert pieces == ["😀 Nice.", "You 🤬 fool!"]


def test_suggestscore_maps_attributes_to_labels_and_checks_values():
    parsed = parse_suggest(
        {
            "comment": {"text": "damn it"},
            "attributeScores": {
                "PROFANITY": {"summaryScore": {"value": 0.9}},
                "TOXICITY": {"summaryScore": {"value": 0}},
            },
            "clientToken": "c",
        },
        max_chars=100,
        supported=EN,
    )
    assert parsed.labels == {"obscene": 0.9, "toxicity": 0.0}
    assert parsed.client_token == "c"
    for bad in ({"value": 2}, {"value": "0.5"}, {}):
        with pytest.raises(PerspectiveError):
            parse_suggest(
                {"comment": {"text": "x"}, "attributeScores": {"INSULT": {"summaryScore": bad}}},
                max_chars=100,
                supported=EN,
            )
