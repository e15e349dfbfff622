"""The embedding study's arithmetic and its out-of-fold fit, without loading MiniLM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from civil.spam.training import embedding_study as study
from civil.spam.training.train import Example


def test_with_term_adds_the_clipped_weighted_logit():
    p = study.with_term([0.0, 1.0, 11.0], np.array([2.0, 10.0, 10.0]), 0.5)
    assert p[0] == pytest.approx(round(1 / (1 + math.exp(-1.0)), 4))
    # 10 is clipped to the text clip (4): 1 + 0.5 x 4 = 3
    assert p[1] == pytest.approx(round(1 / (1 + math.exp(-3.0)), 4))
    # the sum is held at the scorer's own clip (12)
    assert p[2] == pytest.approx(round(1 / (1 + math.exp(-12.0)), 4))


def test_weight_zero_leaves_the_scorer_unchanged():
    z = [-2.0, 0.3, 5.0]
    assert study.with_term(z, np.array([4.0, -4.0, 1.0]), 0.0).tolist() == [
        round(1 / (1 + math.exp(-v)), 4) for v in z
    ]


class _FakeVectors(study.Vectors):
    """Two directions: spam texts point one way, ham the other (plus noise)."""

    def __init__(self, rows: list[Example]) -> None:
        rng = np.random.default_rng(0)
        self.index = {study.key(r.text): i for i, r in enumerate(rows)}
        self.matrix = np.array(
            [[1.0 if r.spam else -1.0, 0.0, *rng.normal(0, 0.3, 2).tolist()] for r in rows]
        )


def test_fit_embedding_is_calibrated_out_of_fold_and_separates():
    rows = [Example(f"spam text number {i}", 1, "sms") for i in range(40)]
    rows += [Example(f"ham text number {i}", 0, "sms") for i in range(40)]
    rows += [Example(f"a reader's comment {i}", 0, "news-comments", 0.5) for i in range(20)]
    predict, prior = study.fit_embedding(rows, _FakeVectors(rows))
    logits = predict([r.text for r in rows])
    assert logits[:40].min() > 0 > logits[40:].max()
    # 40 spam of the 80 calibration rows (the comment ham is left out of it)
    assert prior == pytest.approx(0.0)


def test_a_centred_term_does_not_count_the_prior_twice():
    # a logit equal to the prior carries no evidence: the scorer's probability is unchanged
    assert study.with_term([0.7], np.array([-1.4]), 1.0, prior=-1.4)[0] == pytest.approx(
        round(1 / (1 + math.exp(-0.7)), 4)
    )
