"""ONNX Runtime export and int8 quantization of Detoxify-format models, offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from civil.scoring import TOXICITY_LABELS, Scorer, ScorerUnavailable
from civil.toxicity import onnx
from civil.toxicity.detoxify import DetoxifyScorer
from civil.toxicity.onnx import OnnxScorer, export_onnx, load_onnx_scorer
from tests.support.offline import refusing_network
from tests.support.tiny_detoxify import build_tiny_checkpoint

pytest.importorskip("onnxruntime")

TEXTS = [
    "you are a stupid idiot",
    "thanks for the great article",
    "",
    "x",
    "I really disagree with this post, but it was a nice read.",
    "hate hate hate kill",
]
LONG_TEXT = " ".join(
    ["this comment is really very wonderful and i agree with the article"] * 12
    + ["but you are a dumb idiot and i hate you"]
)


@pytest.fixture(scope="module")
def offline() -> Iterator[list[tuple[object, ...]]]:
    """Make every network attempt in this module fail, and record it."""
    with refusing_network() as attempts:
        yield attempts


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def reference(offline: list[tuple[object, ...]], tiny: Path) -> DetoxifyScorer:
    return DetoxifyScorer(str(tiny), tiny.parent, batch_size=4)


def _matrix(rows: list[dict[str, float]]) -> np.ndarray:
    return np.asarray([[row[label] for label in TOXICITY_LABELS] for row in rows])


def test_fp32_onnx_scores_match_torch(
    offline: list[tuple[object, ...]], tiny: Path, cache_dir: Path, reference: DetoxifyScorer
) -> None:
    scorer = OnnxScorer(str(tiny), tiny.parent, quantize=False, cache_dir=cache_dir, batch_size=4)
    assert isinstance(scorer, Scorer)
    assert scorer.name == "onnx:tiny.ckpt"
    assert np.allclose(
        _matrix(scorer.score_batch(TEXTS)), _matrix(reference.score_batch(TEXTS)), atol=1e-5
    )
    # Long comments are windowed exactly as DetoxifyScorer windows them.
    assert scorer.window_spans(LONG_TEXT) == reference.window_spans(LONG_TEXT)
    ((onnx_scores, windows),) = scorer.score_batch_detailed([LONG_TEXT])
    ((torch_scores, torch_windows),) = reference.score_batch_detailed([LONG_TEXT])
    assert windows == torch_windows > 1
    assert np.allclose(_matrix([onnx_scores]), _matrix([torch_scores]), atol=1e-5)


def _moderate_checkpoint(directory: Path) -> Path:
    """The tiny checkpoint with BERT-like (not extra-wide) random weights.

    The tiny model's wide initialisation saturates its logits, which int8 rounding then
    moves a lot; a real fine-tuned model is far better conditioned (see models/README.md for
    the int8 cost measured on the shipped MiniLM).
    """
    checkpoint = build_tiny_checkpoint(directory)
    saved = torch.load(checkpoint, weights_only=True)
    config = transformers.BertConfig.from_pretrained(
        str(checkpoint.with_suffix("")), local_files_only=True
    )
    config.initializer_range = 0.1
    torch.manual_seed(7)
    saved["state_dict"] = transformers.BertForSequenceClassification(config).state_dict()
    torch.save(saved, checkpoint)
    return checkpoint


def test_int8_onnx_scores_stay_close_to_torch(
    offline: list[tuple[object, ...]], tmp_path: Path
) -> None:
    checkpoint = _moderate_checkpoint(tmp_path / "model")
    reference = DetoxifyScorer(str(checkpoint), checkpoint.parent, batch_size=4)
    scorer = OnnxScorer(
        str(checkpoint), checkpoint.parent, cache_dir=tmp_path / "cache", batch_size=4
    )
    assert scorer.name == "onnx-int8:tiny.ckpt"
    assert scorer.onnx_path.name.endswith(".int8.onnx")
    texts = [*TEXTS, LONG_TEXT]
    expected = _matrix(reference.score_batch(texts))
    assert expected.max() - expected.min() > 0.1  # the scores do differ between texts
    difference = np.abs(_matrix(scorer.score_batch(texts)) - expected)
    # A 32-wide random model is a harsh case for int8; the shipped MiniLM moves far less.
    assert difference.max() < 0.05, difference.max()
    assert difference.mean() < 0.025, difference.mean()
    fp32_file = scorer.onnx_path.with_name(scorer.onnx_path.name.replace(".int8", ""))
    assert scorer.onnx_path.stat().st_size < fp32_file.stat().st_size


def test_cached_model_is_reused_without_exporting_again(
    offline: list[tuple[object, ...]],
    tiny: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    OnnxScorer(str(tiny), tiny.parent, cache_dir=cache_dir)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx, "export_onnx", fail)
    monkeypatch.setattr(onnx, "quantize_int8", fail)
    scorer = load_onnx_scorer(f"onnx-int8:{tiny}", tiny.parent, cache_dir=cache_dir)
    assert scorer.score_batch(["nice post"])[0].keys() == set(TOXICITY_LABELS)


def test_a_changed_checkpoint_gets_a_new_cache_entry(
    offline: list[tuple[object, ...]], tmp_path: Path
) -> None:
    first = build_tiny_checkpoint(tmp_path / "a")
    second = build_tiny_checkpoint(tmp_path / "b", model_type=None)  # other bytes, same name
    cache = tmp_path / "cache"
    one = OnnxScorer(str(first), first.parent, quantize=False, cache_dir=cache)
    two = OnnxScorer(str(second), second.parent, quantize=False, cache_dir=cache)
    assert one.onnx_path != two.onnx_path


def test_missing_checkpoint_is_unavailable(
    offline: list[tuple[object, ...]], tmp_path: Path
) -> None:
    with pytest.raises(ScorerUnavailable):
        OnnxScorer("absent.ckpt", tmp_path, cache_dir=tmp_path)
    with pytest.raises(ScorerUnavailable):
        load_onnx_scorer("absent.ckpt", tmp_path)


@pytest.mark.parametrize(
    ("config_class", "model_class", "extra", "inputs"),
    [
        (
            transformers.RobertaConfig,
            "RobertaForSequenceClassification",
            {"pad_token_id": 0, "max_position_embeddings": 66},
            ["input_ids", "attention_mask"],
        ),
        (
            transformers.XLMRobertaConfig,
            "XLMRobertaForSequenceClassification",
            {"pad_token_id": 0, "max_position_embeddings": 66},
            ["input_ids", "attention_mask"],
        ),
        (
            transformers.AlbertConfig,
            "AlbertForSequenceClassification",
            {"embedding_size": 16, "max_position_embeddings": 64},
            ["input_ids", "token_type_ids", "attention_mask"],
        ),
    ],
)
def test_official_architectures_export_with_matching_logits(
    tiny: Path,
    tmp_path: Path,
    config_class: type,
    model_class: str,
    extra: dict[str, int],
    inputs: list[str],
) -> None:
    """The architectures of Detoxify's released models export and run in ONNX Runtime."""
    import onnxruntime as ort

    tokenizer = transformers.BertTokenizerFast.from_pretrained(
        str(tiny.with_suffix("")), local_files_only=True
    )
    tokenizer.model_input_names = inputs
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=6,
        **extra,
    )
    torch.manual_seed(0)
    model = getattr(transformers, model_class)(config).eval()
    path = tmp_path / "model.onnx"
    assert export_onnx(model, tokenizer, path) == [n for n in inputs]

    batch = tokenizer(TEXTS, padding=True, return_tensors="np")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {name: batch[name].astype(np.int64) for name in inputs})[0]
    with torch.no_grad():
        expected = model(**{name: torch.as_tensor(batch[name]) for name in inputs}).logits
    assert np.allclose(got, expected.numpy(), atol=1e-4)
