"""The evaluation report's calibration measures, on examples small enough to check by hand."""

from __future__ import annotations

import math

import pytest

from civil.decision.policy import Policy
from civil.spam.features import SpamInput, extract
from civil.spam.scorer import SpamFacts, combine
from civil.spam.training.evaluate import calibration, platt_out_of_fold

Y = [0, 0, 1, 1, 0, 1]
P = [0.05, 0.15, 0.12, 0.62, 0.68, 0.995]


def test_brier_log_loss_and_ece_by_hand():
    result = calibration(Y, P)
    # (0.05² + 0.15² + 0.88² + 0.38² + 0.68² + 0.005²) / 6 = 1.406225 / 6
    assert result["brier"] == pytest.approx(0.2344, abs=1e-4)
    expected_log_loss = -sum(math.log(p if y else 1 - p) for y, p in zip(Y, P, strict=True)) / len(
        Y
    )
    assert result["log_loss"] == pytest.approx(expected_log_loss, abs=1e-4)
    # bins 0.0-0.1: |0.05 - 0|, 0.1-0.2: |0.135 - 0.5| x2, 0.6-0.7: |0.65 - 0.5| x2,
    # 0.9-1.0: |0.995 - 1|; weighted by rows: (0.05 + 0.73 + 0.30 + 0.005) / 6
    assert result["ece"] == pytest.approx(1.085 / 6, abs=1e-4)
    assert result["reliability"] == [
        {"bin": "0.0-0.1", "mean_predicted": 0.05, "observed_spam_rate": 0.0, "n": 1},
        {"bin": "0.1-0.2", "mean_predicted": 0.135, "observed_spam_rate": 0.5, "n": 2},
        {"bin": "0.6-0.7", "mean_predicted": 0.65, "observed_spam_rate": 0.5, "n": 2},
        {"bin": "0.9-1.0", "mean_predicted": 0.995, "observed_spam_rate": 1.0, "n": 1},
    ]


def test_policy_tiers_and_discard_shares():
    result = calibration(Y, P, policy=Policy())  # hold .60, reject .95, discard .99
    assert result["tiers"]["hold"] == {
        "from": 0.6,
        "n": 2,
        "mean_predicted": 0.65,
        "observed_spam_rate": 0.5,
    }
    assert result["tiers"]["reject"]["n"] == 0
    assert result["tiers"]["discard"]["n"] == 1
    assert result["ham_at_discard"] == 0.0 and result["spam_at_discard"] == pytest.approx(
        1 / 3, abs=1e-4
    )


def test_perfect_certainty_lands_in_the_last_bin_and_scores_zero():
    result = calibration([0, 1], [0.0, 1.0])
    assert result["brier"] == 0.0 and result["ece"] == 0.0
    assert [row["bin"] for row in result["reliability"]] == ["0.0-0.1", "0.9-1.0"]


def test_platt_out_of_fold_never_sees_the_scored_fold():
    # Fold "a" alone is perfectly separable by z; "b" and "c" say larger z means ham. The map
    # used for "a" comes from b and c only, so it must rank a's rows the wrong way round.
    folds = {
        "a": ([0, 0, 1, 1], [-2.0, -1.0, 1.0, 2.0]),
        "b": ([1, 1, 0, 0, 1, 0], [-2.0, -1.5, 1.0, 2.0, -1.0, 1.5]),
        "c": ([1, 0, 1, 0], [-3.0, 3.0, -2.5, 2.5]),
    }
    result = platt_out_of_fold(folds)
    assert result["fold_parameters"]["a"][0] < 0
    assert result["per_video"]["a"]["after"]["roc_auc"] == 0.0
    assert result["per_video"]["a"]["before"]["roc_auc"] == 1.0


def test_log_odds_is_the_clipped_sum_behind_the_probability():
    result = combine(2.0, extract(SpamInput("plain words")), SpamFacts(near_duplicates=1))
    assert result.log_odds == pytest.approx(sum(s.contribution for s in result.signals))
    assert result.probability == round(1 / (1 + math.exp(-result.log_odds)), 4)
