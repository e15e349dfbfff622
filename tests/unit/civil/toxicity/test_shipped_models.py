"""The models this repository ships load offline, through Detoxify's own loader too, and score."""

from __future__ import annotations

from pathlib import Path

import pytest

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.loader import load_scorer
from tests.support.offline import refusing_network

MODELS = Path(__file__).resolve().parents[4] / "models"
CLEAN = "Thank you for the careful reporting on the council budget."
TOXIC = "You are a pathetic idiot and a disgusting piece of garbage, shut up."


@pytest.fixture
def offline():
    with refusing_network() as attempts:
        yield attempts


@pytest.mark.parametrize("spec", ["linear", "minilm", "cascade"])
def test_shipped_model_loads_offline_and_ranks_toxic_above_clean(spec, offline):
    scorer = load_scorer(spec, MODELS)
    clean, toxic = scorer.score_batch([CLEAN, TOXIC])
    assert set(clean) == set(TOXICITY_LABELS)
    assert all(0.0 <= v <= 1.0 for v in (*clean.values(), *toxic.values()))
    assert toxic["toxicity"] > 0.5 > clean["toxicity"]
    assert toxic["insult"] > clean["insult"]


def test_detoxify_loader_runs_the_shipped_checkpoint_offline(offline):
    from detoxify import Detoxify

    from civil.toxicity.detoxify import _load_detoxify

    model = _load_detoxify(MODELS / "minilm" / "civil-minilm.ckpt")
    assert isinstance(model, Detoxify)
    out = model.predict([CLEAN, TOXIC])
    assert set(out) == set(TOXICITY_LABELS)
    assert out["toxicity"][1] > out["toxicity"][0]


def test_cascade_sends_only_uncertain_comments_to_the_transformer(offline):
    cascade = load_scorer("cascade", MODELS)
    calls = []
    original = cascade.slow.score_batch_detailed

    def counting(texts):
        calls.append(list(texts))
        return original(texts)

    cascade.slow.score_batch_detailed = counting
    texts = [CLEAN, TOXIC, "Meh.", "I think the mayor is wrong about the bridge."]
    fast = cascade.fast.score_batch(texts)
    cascade.score_batch(texts)
    escalated = [t for batch in calls for t in batch]
    assert escalated == [t for t, s in zip(texts, fast) if cascade.escalate(s)]


def test_int8_cascade_runs_minilm_through_onnx_runtime(offline, tmp_path, monkeypatch):
    import torch

    from civil.toxicity.onnx import OnnxScorer

    monkeypatch.setenv("CIVIL_DATA_DIR", str(tmp_path))
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as a worker process does
    try:
        cascade = load_scorer("cascade-int8", MODELS)
    finally:
        torch.set_num_threads(before)
    assert isinstance(cascade.slow, OnnxScorer)
    # One intra-op thread per process, like torch: no oversubscription across prefork workers.
    assert cascade.slow.session.get_session_options().intra_op_num_threads == 1
    assert "onnx" in cascade.name
    assert list((tmp_path / "onnx").rglob("*.onnx"))
    clean, toxic = cascade.slow.score_batch([CLEAN, TOXIC])
    assert toxic["toxicity"] > 0.5 > clean["toxicity"]
