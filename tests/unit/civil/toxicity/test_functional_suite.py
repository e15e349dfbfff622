"""The functional suite (civil models check) on a bounded subset, through the default model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from civil.toxicity.training.functional import EXPECTED, FLAG, cases, evasions, run
from tests.support.offline import refusing_network

MODELS = Path(__file__).resolve().parents[4] / "models"
# Floors a little under what the shipped default model and policy reach on this subset
# (models/README.md has the full-suite numbers). They are not the targets.
FLOORS = {
    # measured on this subset 2026-12-01: 0.963, 0.889, 0.521, 0.963, 0.741, 0.900; with
    # swapped, dropped and joined letters in the suite, insult_evasion 0.778
    "insult_plain": 0.90,
    "insult_evasion": 0.70,
    "long_insult": 0.45,
    "benign_identity": 0.90,
    "identity_attack": 0.65,
    "threat_direct": 0.80,
    # with the threat grammar beside the models (2026-12-08): 1.0, 0.99, 0.83 and 0.60 on the
    # full suite; threat_unseen and benign_violence were written after the grammar
    "threat_normative": 0.90,
    "threat_unseen": 0.75,
    "benign_violence": 0.50,
}


def test_suite_is_large_and_covers_every_functionality():
    counted = Counter(case.functionality for case in cases())
    assert set(counted) == set(EXPECTED)
    assert sum(counted.values()) >= 3000
    assert len({case.text for case in cases()}) == sum(counted.values())  # no duplicates
    assert set(evasions("idiot").values()) >= {"1d10t", "i d i o t", "\u0456d\u0456\u043et"}
    assert evasions("vermin")["swapped"] == "vemrin" and evasions("vermin")["dropped"] == "vrmin"
    texts = {case.text for case in cases()}
    # Evasions reach hate too, and a removed space glues the word to the one before it.
    assert "Muslims are vrmin and should be wiped out." in texts
    assert "All Muslims are disgustinganimals." in texts
    assert "The mayor should be shot." in texts
    assert "I'd kill for a coffee right now." in texts  # benign_violence


@pytest.fixture(scope="module")
def report():
    from civil.toxicity.loader import load_scorer

    with refusing_network():
        # 18 cases a functionality (15 of them), evenly spread.
        return run(load_scorer("cascade", MODELS), limit=270)


@pytest.fixture(scope="module")
def insults():
    from civil.toxicity.loader import load_scorer

    with refusing_network():
        return run(load_scorer("cascade", MODELS), only={"insult_plain", "insult_evasion"})


# What the normaliser undoes (civil.textnorm); swapped or dropped letters and a removed space
# only toward the words of models/evasion_words.txt (not halfwit, nitwit, dimwit, lowlife:
# too rare in the training data) and not in three-letter tokens, so they are held lower.
NORMALISED = ("leet", "spaced", "cyrillic", "zero_width", "stretched")
TYPOS = ("swapped", "dropped", "joined")


def test_plain_and_evaded_insults_get_the_same_decision_now(insults):
    """Evasions used to pass the cascade (MiniLM read the raw text): within 0.1 of plain."""
    plain = insults["insult_plain"]["pass_rate"]
    by_variant = insults["insult_evasion"]["by_variant"]
    assert set(by_variant) == set(NORMALISED) | set(TYPOS)
    # Together within 0.1 of plain (spaced letters alone are lower: models/README.md).
    normalised = sum(by_variant[variant] for variant in NORMALISED) / len(NORMALISED)
    assert normalised >= plain - 0.1, by_variant
    assert min(by_variant[variant] for variant in NORMALISED) >= 0.6, by_variant
    # Measured 0.943 / 0.875 / 0.85 (0.743 / 0.70 / 0.55 before stage 4 of the normaliser).
    assert min(by_variant[variant] for variant in TYPOS) >= 0.8, by_variant


@pytest.mark.parametrize("functionality", sorted(FLOORS))
def test_default_model_reaches_its_measured_floor(report, functionality):
    row = report[functionality]
    assert row["n"] >= 8
    assert row["pass_rate"] >= FLOORS[functionality], row
    if EXPECTED[functionality] == FLAG:
        assert row["held_or_rejected"] == row["pass_rate"]
