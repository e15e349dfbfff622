import numpy as np
import pytest

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.cascade import CascadeScorer
from civil.toxicity.training.long_comments import LongComment, choose, rule


def comment():
    rng = np.random.default_rng(3)
    linear = rng.random((5, 6))
    slow = rng.random((5, 6))
    read = np.array([True, False, True, True, False])
    slow[~read] = np.nan
    return LongComment(0, linear.max(axis=0), linear, slow, read)


@pytest.mark.parametrize(("gate", "confident"), [(0.5, 0.0), (0.75, 0.25), (1.0, 0.1)])
def test_the_study_rule_is_the_scorers_rule(gate, confident):
    c = comment()
    cascade = CascadeScorer(None, None, {}, 0.4, sentence_gate=gate, confident_weight=confident)
    as_dicts = [dict(zip(TOXICITY_LABELS, row, strict=True)) for row in c.sentences_linear]
    read = {
        j: dict(zip(TOXICITY_LABELS, c.sentences_slow[j], strict=True))
        for j in np.flatnonzero(c.read)
    }
    window_max = dict(zip(TOXICITY_LABELS, c.linear, strict=True))
    expected = cascade.merge_sentences(window_max, as_dicts, read)
    got = rule(c, "sentence", 0.4, gate, confident)
    assert got == pytest.approx([expected[label] for label in TOXICITY_LABELS])
    old = CascadeScorer(None, None, {}, 0.4).merge_sentences(window_max, as_dicts, read)
    assert rule(c, "max", 0.4, 0.0, 0.0) == pytest.approx([old[k] for k in TOXICITY_LABELS])


def test_the_gate_trusts_the_transformer_only_where_it_is_confident():
    c = comment()
    blended = rule(c, "sentence", 0.4, 2.0, 0.0)  # no sentence passes a gate of 2
    trusting = rule(c, "sentence", 0.4, 0.0, 0.0)
    assert (trusting >= blended).all() and (trusting > blended).any()
    assert (rule(c, "max", 0.4, 0.0, 0.0) >= blended).all()


def test_choose_keeps_the_functional_rate():
    valid = {"rows": 9, "max": 0.97, "sentence 0.5 0.0": 0.99, "sentence 0.7 0.2": 0.98}
    rates = {"max": 0.8, "sentence 0.5 0.0": 0.7, "sentence 0.7 0.2": 0.8}
    assert choose(valid, rates) == "sentence 0.7 0.2"
    assert choose(valid, dict(rates, **{"sentence 0.7 0.2": 0.5})) == "max"
