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


def test_gated_long_texts_blend_each_sentence_and_let_only_confident_ones_through():
    rude = "And whoever wrote this is a complete and utter nitwit, frankly."
    odd = "Some would call the parking plan a bit of a disgrace, I suppose."
    calm = "Calm news about the weather and the buses on the high street. "
    linear = {"nitwit": 0.5, "disgrace": 0.3}
    transformer = {"nitwit": 0.9, "disgrace": 0.6}

    def pick(table, default):
        return lambda t: next((v for k, v in table.items() if k in t), default)

    fast = Fixed("linear", pick(linear, 0.05), windows=7)
    slow = Fixed("minilm", pick(transformer, 0.3))
    bands = dict.fromkeys(TOXICITY_LABELS, (0.2, 0.8))
    gated = CascadeScorer(fast, slow, bands, 0.4, sentence_gate=0.8)
    ungated = CascadeScorer(fast, slow, bands, 0.4)
    insult = calm * 20 + rude + " " + calm * 20
    benign = calm * 20 + odd + " " + calm * 20
    ((found, windows),) = gated.score_batch_detailed([insult])
    # The insult's sentence: the transformer's 0.9 passes the gate and is kept.
    assert found["insult"] == pytest.approx(0.9) and windows >= 7
    ((talk, _),) = gated.score_batch_detailed([benign])
    # A doubtful sentence of a long benign text keeps the blend, not the transformer's 0.6.
    assert talk["toxicity"] == pytest.approx(0.4 * 0.3 + 0.6 * 0.6)
    assert ungated.score_batch_detailed([benign])[0][0]["toxicity"] == pytest.approx(0.6)
    # Above the transformer's score, the gate keeps the blend for the insult too.
    strict = CascadeScorer(fast, slow, bands, 0.4, sentence_gate=0.95)
    assert strict.score_batch([insult])[0]["insult"] == pytest.approx(0.4 * 0.5 + 0.6 * 0.9)
    # Where the transformer is confident, the linear member weighs confident_weight only.
    trusting = CascadeScorer(fast, slow, bands, 0.4, sentence_gate=0.8, confident_weight=0.25)
    assert trusting.score_batch([insult])[0]["insult"] == pytest.approx(0.25 * 0.5 + 0.75 * 0.9)
    # Only the unsettled sentences were read by the transformer, one per text.
    slow.calls.clear()
    gated.score_batch([insult, benign])
    assert slow.calls == [[rude, odd]]


def test_sentence_gate_is_read_from_the_cascade_file(tmp_path):
    from civil.toxicity.cascade import load_sentence_gate

    path = tmp_path / "cascade.json"
    path.write_text('{"long": {"sentence_gate": 0.7, "confident_linear_weight": 0.25}}')
    assert load_sentence_gate(path) == (0.7, 0.25)
    path.write_text('{"bands": {}}')
    assert load_sentence_gate(path) == (None, 0.0)
    path.write_text('{"bands": {}, "long": {"sentence_gate": 1.5}}')
    with pytest.raises(ValueError, match="sentence_gate"):
        load_sentence_gate(path)


def test_retuning_the_bands_keeps_the_blend_and_the_long_rule_with_a_warning(tmp_path, caplog):
    from civil.toxicity.training.tune import carried_choices

    path = tmp_path / "cascade.json"
    assert carried_choices(path) == {}  # no previous file: nothing to keep
    path.write_text(
        '{"bands": {}, "blend": {"linear_weight": 0.4}, "long": {"sentence_gate": 0.75}}'
    )
    with caplog.at_level("WARNING"):
        kept = carried_choices(path)
    assert kept == {"blend": {"linear_weight": 0.4}, "long": {"sentence_gate": 0.75}}
    assert "choose them again" in caplog.text
    path.write_text('{"bands": {}}')
    assert carried_choices(path) == {}
