"""Evasions reach every cascade member normalised; long comments are scored in windows."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.detoxify import DetoxifyScorer
from civil.toxicity.linear import WINDOW_CHARS, LinearToxicityModel, window_spans
from tests.support.offline import refusing_network

MODELS = Path(__file__).resolve().parents[4] / "models"
NEWS = (
    "The city council met on Tuesday to discuss the budget for the coming year, and the "
    "library will open later on Sundays while the bridge repairs continue through spring. "
)
INSULT = "You are a pathetic moron and a stupid idiot."
EVASIONS = ["you are an 1d10t", "you are an i d i o t", "you are an \u0456d\u0456\u043et"]


@pytest.fixture(scope="module")
def linear():
    return LinearToxicityModel.load(MODELS / "linear")


def long_comment(position: float, length: int = 20_000) -> str:
    filler = (NEWS * (length // len(NEWS) + 2))[: length - len(INSULT) - 2]
    cut = filler.find(" ", int(position * len(filler)))
    cut = len(filler) if cut == -1 else cut
    return filler[:cut] + " " + INSULT + " " + filler[cut:]


def test_window_spans_cover_the_text_and_overlap():
    text = NEWS * 40
    spans = window_spans(text)
    assert len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == len(text)
    for (s1, e1), (s2, e2) in pairwise(spans):
        assert s1 < s2 < e1 <= e2  # each window starts inside the previous one
        assert e1 - s2 >= 60
    assert all(end - start <= WINDOW_CHARS for start, end in spans)
    assert window_spans("short") == [(0, 5)]
    assert window_spans(NEWS * 10) == [(0, len(NEWS) * 10)]  # under 2,000 characters: whole


@pytest.mark.parametrize("position", [0.0, 0.15, 0.5, 0.85, 1.0])
def test_an_insult_anywhere_in_20000_characters_is_found_by_the_linear_model(linear, position):
    text = long_comment(position)
    assert 19_900 <= len(text) <= 20_100
    (scores, windows), (clean, _) = linear.score_batch_detailed([text, NEWS * 130])
    assert windows > 30
    assert scores["insult"] > 0.75 and scores["toxicity"] > 0.9, scores
    assert clean["toxicity"] < 0.2 and clean["insult"] < 0.2
    # Spans point at the insult inside the window that decided, in the original's offsets.
    spans = linear.explain(text, "insult")
    start = text.index(INSULT)
    assert spans and all(start <= s < e <= start + len(INSULT) for s, e, _ in spans)


def test_whole_text_scoring_would_have_diluted_the_insult(linear):
    """The reason for windows: the same model over the whole text misses it."""
    text = long_comment(0.5, 3_000)
    whole = linear.logits([text])[0][list(linear.labels).index("insult")]
    assert 1 / (1 + pow(2.718281828, -float(whole))) < 0.5
    assert linear.score_batch([text])[0]["insult"] > 0.75


def test_the_transformer_member_reads_normalised_text():
    scorer = DetoxifyScorer.__new__(DetoxifyScorer)
    seen: list[str] = []
    scorer.batch_size = 8
    scorer.window_spans = lambda text: [(0, len(text))]  # type: ignore[method-assign]

    def predict(batch):
        seen.extend(batch)
        return [dict.fromkeys(TOXICITY_LABELS, 0.5) for _ in batch]

    scorer._predict = predict  # type: ignore[method-assign]
    scorer.score_batch(["you are an 1d10t", "you are an i d i o t", "tw\u200bit"])
    assert sorted(seen) == ["twit", "you are an idiot", "you are an idiot"]


def test_shipped_cascade_scores_evasions_like_the_plain_spelling():
    from civil.toxicity.loader import load_scorer

    with refusing_network():
        cascade = load_scorer("cascade", MODELS)
        plain, *evasive = cascade.score_batch(["you are an idiot", *EVASIONS])
        buried = cascade.score_batch_detailed([long_comment(0.2, 3_000)])[0]
    for scores in evasive:
        assert scores["insult"] > 0.8 and abs(scores["insult"] - plain["insult"]) < 0.05
    assert buried[0]["insult"] > 0.8 and buried[1] > 1


def test_sentence_chunks_cover_every_word_and_stay_short():
    from civil.toxicity.cascade import CHUNK_MAX_CHARS, sentence_chunks

    text = long_comment(0.5, 5_000) + " " + "word " * 300
    chunks = sentence_chunks(text)
    assert len(chunks) > 10 and max(map(len, chunks)) <= CHUNK_MAX_CHARS
    assert " ".join(chunks).split() == text.split()
    assert sentence_chunks("Short.") == ["Short."]


MILD = "Honestly, whoever wrote this is a fool."


@pytest.fixture(scope="module")
def default_scorer():
    from civil.toxicity.loader import load_scorer

    return load_scorer("cascade", MODELS)


def _decide(scorer, text):
    from civil.decision.pipeline import Job, score
    from civil.decision.policy import Policy, decide

    policy = Policy()
    job = Job(0, 0, text, policy, [], 0.0)
    scores = score([job], scorer)[0]
    decision = decide(policy, toxicity=scores, spam=None, rule_hits=job.rule_hits, model="m")
    return decision, job, scores


@pytest.mark.parametrize("position", [0.0, 0.5, 1.0])
def test_the_default_model_finds_a_mild_insult_anywhere_in_20000_characters(
    default_scorer, linear, position
):
    filler = (NEWS * 130)[:20_000]
    cut = filler.find(" ", int(position * (len(filler) - 1)))
    cut = len(filler) if cut == -1 else cut
    text = filler[:cut] + " " + MILD + " " + filler[cut:]
    decision, job, scores = _decide(default_scorer, text)
    assert decision.action in ("hold", "reject"), scores
    assert scores["insult"] > 0.65
    assert any(note.code == "windowed" and note.extra["windows"] > 10 for note in job.notes)
    # The linear windows alone miss it: the transformer reading sentences found it.
    assert linear.score_batch([text])[0]["insult"] < 0.65
    clean, _, clean_scores = _decide(default_scorer, filler)
    assert clean.action == "approve", clean_scores
