import numpy as np
import pytest

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.cascade import CascadeScorer
from civil.toxicity.training.tune import label_aucs, merged, tune_bands


def synthetic(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 6)) < 0.2).astype(int)
    slow = np.clip(y * 0.7 + rng.normal(0.15, 0.12, (n, 6)), 0, 1)  # strong model
    fast = np.clip(y * 0.5 + rng.normal(0.25, 0.2, (n, 6)), 0, 1)  # weaker, same ordering trend
    known = rng.random((n, 6)) < 0.9
    return fast, slow, y, known


def test_tuned_bands_keep_auc_and_escalate_only_part():
    fast, slow, y, known = synthetic()
    bands, report = tune_bands(fast, slow, y, known, max_mean_loss=0.002, max_label_loss=0.005)
    scores, hard = merged(fast, slow, bands)
    ref = label_aucs(y, known, slow)
    got = label_aucs(y, known, scores)
    assert max(r - g for r, g in zip(ref, got)) <= 0.005
    assert np.mean(ref) - np.mean(got) <= 0.002
    assert 0.0 < hard.mean() < 0.9
    assert abs(report["escalated_fraction"] - hard.mean()) < 1e-12


class Fixed:
    def __init__(self, name, value, windows=1):
        self.name, self.value, self.windows, self.calls = name, value, windows, []

    def score_batch(self, texts):
        self.calls.append(list(texts))
        return [dict.fromkeys(TOXICITY_LABELS, self.value(t)) for t in texts]

    def score_batch_detailed(self, texts):
        return [(s, self.windows) for s in self.score_batch(texts)]

    def explain(self, text, label):
        return [(0, 3, 1.0)]


def test_only_uncertain_texts_reach_the_transformer():
    fast = Fixed("linear", lambda t: {"clean": 0.01, "rude": 0.99, "unsure": 0.5}[t])
    slow = Fixed("minilm", lambda t: 0.77, windows=2)
    cascade = CascadeScorer(fast, slow, dict.fromkeys(TOXICITY_LABELS, (0.2, 0.8)))
    out = cascade.score_batch_detailed(["clean", "unsure", "rude"])
    assert slow.calls == [["unsure"]]
    assert [s["toxicity"] for s, _ in out] == [0.01, 0.77, 0.99]
    # Settled texts carry the linear model's own window count (1 each here).
    assert [w for _, w in out] == [1, 2, 1]
    assert cascade.name == "cascade(linear+minilm)"
    assert cascade.explain("abc", "insult") == [(0, 3, 1.0)]


def test_escalated_texts_blend_both_members_and_long_texts_take_the_max():
    fast = Fixed("linear", lambda t: 0.5 if t == "unsure" else 0.1, windows=1)
    slow = Fixed("minilm", lambda t: 0.9)
    cascade = CascadeScorer(fast, slow, dict.fromkeys(TOXICITY_LABELS, (0.2, 0.8)), 0.4)
    ((scores, _),) = cascade.score_batch_detailed(["unsure"])
    assert scores["toxicity"] == pytest.approx(0.4 * 0.5 + 0.6 * 0.9)
    long_text = ("Calm news about the weather and the buses. " * 60).strip()
    long_fast = Fixed("linear", lambda t: 0.05, windows=7)
    bands = dict.fromkeys(TOXICITY_LABELS, (0.2, 0.8))
    every = CascadeScorer(long_fast, slow, bands, 0.4, screen_sentences=False)
    ((long_scores, windows),) = every.score_batch_detailed([long_text])
    # Settled by the bands, yet escalated for its length: sentence chunks, max over members.
    assert long_scores["toxicity"] == pytest.approx(0.9) and windows >= 7
    assert all(len(chunk) <= 400 for chunk in slow.calls[-1]) and len(slow.calls[-1]) > 5


def test_long_texts_send_only_unsettled_sentences_to_the_transformer():
    rude = "And whoever wrote this is a complete and utter nitwit, frankly."
    calm = "Calm news about the weather and the buses on the high street. "
    long_text = calm * 20 + rude + " " + calm * 20
    fast = Fixed("linear", lambda t: 0.5 if "nitwit" in t else 0.05, windows=7)
    slow = Fixed("minilm", lambda t: 0.9 if "nitwit" in t else 0.3)
    cascade = CascadeScorer(fast, slow, dict.fromkeys(TOXICITY_LABELS, (0.2, 0.8)), 0.4)
    ((scores, windows),) = cascade.score_batch_detailed([long_text])
    # The linear model screened every sentence; only the one it left unsettled was read.
    assert len(slow.calls) == 1 and all("nitwit" in chunk for chunk in slow.calls[0])
    assert len(slow.calls[0]) == 1
    assert scores["toxicity"] == pytest.approx(0.9) and windows >= 7
    # A long text the linear model settles as clean everywhere never reaches the transformer.
    slow.calls.clear()
    ((clean, _),) = cascade.score_batch_detailed([calm * 40])
    assert slow.calls == [] and clean["toxicity"] == pytest.approx(0.05)
