import socket
import time

import numpy as np
import pytest

from civil.scoring import TOXICITY_LABELS, Scorer, ScorerUnavailable
from civil.toxicity.linear import (
    DEFAULT_DIR,
    SPAN_MIN_SHARE,
    FeatureConfig,
    Featurizer,
    LinearToxicityModel,
)


@pytest.fixture(scope="module")
def model():
    return LinearToxicityModel.load(DEFAULT_DIR)


def test_loads_offline_from_the_repository_quickly(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable in this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    began = time.process_time()
    loaded = LinearToxicityModel.load(DEFAULT_DIR)
    assert time.process_time() - began < 1.0
    assert isinstance(loaded, Scorer)
    assert loaded.name == "linear"


def test_missing_model_is_unavailable(tmp_path):
    with pytest.raises(ScorerUnavailable):
        LinearToxicityModel.load(tmp_path)


def test_scores_six_labels_in_unit_range(model):
    texts = [
        "Thanks for the thoughtful article.",
        "You are a stupid idiot.",
        "",
        "\u200b" * 3,
        "x" * 20000,
    ]
    results = model.score_batch(texts)
    assert len(results) == len(texts)
    for scores in results:
        assert set(scores) == set(TOXICITY_LABELS)
        assert all(0.0 <= value <= 1.0 for value in scores.values())
    assert results[1]["toxicity"] > 0.5 > results[0]["toxicity"]
    assert results[1]["insult"] > results[0]["insult"]


def test_batch_equals_one_by_one(model):
    texts = ["First comment.", "You moron", "Another ordinary remark about the budget vote."]
    batched = model.score_batch(texts)
    for text, scores in zip(texts, batched):
        (single,) = model.score_batch([text])
        for label in TOXICITY_LABELS:
            assert single[label] == pytest.approx(scores[label], abs=1e-5)


PLAIN = [
    "you are a stupid idiot",
    "shut up you fucking moron",
    "what a piece of shit",
    "you are an idiot and a loser",
]
EVASIONS = [
    lambda t: (
        t.replace("idiot", "1d10t")
        .replace("shit", "$h1t")
        .replace("fucking", "f@cking")
        .replace("moron", "m0r0n")
        .replace("stupid", "stuuuupid")
        .replace("loser", "l0ser")
    ),
    lambda t: "\u200b".join(t),  # a zero-width space between every character
    lambda t: (
        t.replace("o", "\u043e")
        .replace("a", "\u0430")
        .replace("e", "\u0435")
        .replace("i", "\u0456")
    ),  # Cyrillic look-alikes
    lambda t: " ".join(word if len(word) < 5 else " ".join(word) for word in t.split()),
    lambda t: " ".join(word if len(word) < 5 else ".".join(word) for word in t.split()),
    lambda t: t.upper().replace("I", "1").replace("O", "0"),
]


@pytest.mark.parametrize("evade", EVASIONS)
@pytest.mark.parametrize("text", PLAIN)
def test_evasive_variants_score_like_the_plain_text(model, text, evade):
    variant = evade(text)
    assert variant != text
    plain, evasive = model.score_batch([text, variant])
    assert evasive["toxicity"] == pytest.approx(plain["toxicity"], abs=0.05), variant


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Thanks for the update. You are an idiot though.", {"idiot"}),
        ("Thanks for the update.\u200b\u200b You are an idiot though.", {"idiot"}),
        ("Thanks for the update. You are an 1d10t though.", {"1d10t"}),
        (
            "Thanks for the update. You are an \u0456d\u0456\u043et though.",
            {"\u0456d\u0456\u043et"},
        ),
        ("Nice weather today, shut up you f@cking moron", {"f@cking", "moron"}),
    ],
)
def test_explain_points_at_the_toxic_word(model, text, words):
    spans = model.explain(text, "toxicity")
    assert spans, "no span explains the score"
    start, end, weight = spans[0]
    assert weight > 0
    assert text[start:end] in words


def test_explain_offsets_are_inside_the_text(model):
    text = "\u200bYou \u0456d\u0456\u043et, s t u p i d and stuuuupid!"
    for start, end, _ in model.explain(text, "insult", top_k=10):
        assert 0 <= start < end <= len(text)
        assert text[start:end].strip() == text[start:end]


def test_featurizer_is_deterministic_and_batch_independent():
    featurizer = Featurizer(FeatureConfig(word_bits=10, char_bits=12))
    alone = featurizer.featurize(["hello world"])
    with_others = featurizer.featurize(["x", "hello world", "\x01odd"])
    for a, b in zip(alone.blocks, with_others.blocks):
        mine = a.buckets[a.segments[0] : a.segments[1]]
        theirs = b.buckets[b.segments[1] : b.segments[2]]
        assert np.array_equal(np.sort(mine), np.sort(theirs))


def test_save_and_load_round_trip(tmp_path):
    config = FeatureConfig(word_bits=8, char_bits=10)
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(config.n_features, 6)).astype(np.float32)
    model = LinearToxicityModel(config, weights, np.arange(6) / 10)
    model.save(tmp_path, {"metrics": {"note": "test"}})
    loaded = LinearToxicityModel.load(tmp_path)
    assert loaded.meta["metrics"] == {"note": "test"}
    texts = ["some text", "other text entirely"]
    np.testing.assert_allclose(loaded.logits(texts), model.logits(texts), atol=2e-3)


def test_explain_leaves_out_words_that_barely_moved_the_score(model):
    text = "What a dumb article, the writer is clueless."
    spans = model.explain(text, "toxicity")
    words = {text[start:end] for start, end, _ in spans}
    assert "dumb" in words
    assert not words & {"a", "is", "the"}
    top = spans[0][2]
    assert all(weight >= SPAN_MIN_SHARE * top for _, _, weight in spans)
