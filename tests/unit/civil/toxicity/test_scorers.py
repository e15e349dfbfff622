"""DetoxifyScorer and load_scorer, run on a tiny local checkpoint with the network cut off."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from civil.scoring import TOXICITY_LABELS, Scorer, ScorerUnavailable
from civil.toxicity.detoxify import DetoxifyScorer
from civil.toxicity.loader import load_scorer
from tests.support.offline import refusing_network
from tests.support.tiny_detoxify import MAX_POSITIONS, build_tiny_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[4]
TEXTS = [
    "you are a stupid idiot",
    "thanks for the great article",
    "",
    "x",
    "I really disagree with this post, but it was a nice read.",
    "hate hate hate kill",
    "wonderful comment, people agree",
]
LONG_TEXT = " ".join(
    ["this comment is really very wonderful and i agree with the article"] * 25
    + ["but you are a dumb idiot and i hate you"]
)


@pytest.fixture(scope="module")
def offline() -> Iterator[list[tuple[object, ...]]]:
    """Make every network attempt in this module fail, and record it."""
    with refusing_network() as attempts:
        yield attempts


@pytest.fixture(autouse=True)
def no_network(offline: list[tuple[object, ...]]) -> Iterator[None]:
    """Fail the test itself (not only the module teardown) on any network attempt."""
    yield
    assert offline == []


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the tiny checkpoint once for the module."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def scorer(offline: list[tuple[object, ...]], tiny_checkpoint: Path) -> DetoxifyScorer:
    """Load the tiny checkpoint once, with small batches so batching is exercised."""
    return DetoxifyScorer(str(tiny_checkpoint), tiny_checkpoint.parent, batch_size=3)


def _assert_close(left: dict[str, float], right: dict[str, float], tol: float = 1e-5) -> None:
    assert left.keys() == right.keys()
    for label in left:
        assert left[label] == pytest.approx(right[label], abs=tol), label


def _install(checkpoint: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(checkpoint, target)
    shutil.copytree(checkpoint.with_suffix(""), target.with_suffix(""))


def test_loads_tiny_checkpoint_without_network(scorer: DetoxifyScorer) -> None:
    assert isinstance(scorer, Scorer)
    assert scorer.name == "detoxify:tiny.ckpt"
    assert scorer.window_tokens == MAX_POSITIONS - 2  # [CLS] and [SEP]


def test_scores_have_the_six_labels_in_unit_range(scorer: DetoxifyScorer) -> None:
    results = scorer.score_batch(TEXTS)
    assert len(results) == len(TEXTS)
    for scores in results:
        assert tuple(scores) == TOXICITY_LABELS
        assert all(isinstance(value, float) and 0.0 <= value <= 1.0 for value in scores.values())
    # The random model must tell texts apart, or the comparisons below would prove nothing.
    assert len({round(scores["toxicity"], 6) for scores in results}) == len(TEXTS)


def test_scores_are_deterministic(scorer: DetoxifyScorer, tmp_path: Path) -> None:
    again = DetoxifyScorer(str(build_tiny_checkpoint(tmp_path)), tmp_path, batch_size=3)
    first = scorer.score_batch(TEXTS)
    assert scorer.score_batch(TEXTS) == first
    for mine, theirs in zip(first, again.score_batch(TEXTS), strict=True):
        _assert_close(mine, theirs)


def test_batch_results_equal_one_by_one(scorer: DetoxifyScorer) -> None:
    texts = [*TEXTS, LONG_TEXT]
    batched = scorer.score_batch(texts)
    for text, scores in zip(texts, batched, strict=True):
        _assert_close(scores, scorer.score_batch([text])[0])


def test_empty_batch_scores_nothing(scorer: DetoxifyScorer) -> None:
    assert scorer.score_batch([]) == []


def test_short_text_is_one_window(scorer: DetoxifyScorer) -> None:
    assert scorer.window_spans(TEXTS[0]) == [(0, len(TEXTS[0]))]
    assert scorer.score_batch_detailed(TEXTS[:1])[0][1] == 1


def _assert_covering_windows(
    scorer: DetoxifyScorer, text: str, spans: list[tuple[int, int]]
) -> None:
    assert len(spans) > 1
    assert spans[0][0] == 0
    assert spans[-1][1] == len(text)
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert next_start < end, "neighbouring windows must overlap"
    tokenizer = scorer.detoxify.tokenizer
    for start, end in spans:
        # With [CLS] and [SEP] every window still fits the model, so nothing is truncated.
        assert len(tokenizer(text[start:end])["input_ids"]) <= MAX_POSITIONS


def test_long_text_is_windowed_and_scored_as_max_over_windows(scorer: DetoxifyScorer) -> None:
    tokenizer = scorer.detoxify.tokenizer
    assert len(tokenizer(LONG_TEXT, verbose=False)["input_ids"]) > 4 * MAX_POSITIONS
    spans = scorer.window_spans(LONG_TEXT)
    _assert_covering_windows(scorer, LONG_TEXT, spans)

    [(scores, windows)] = scorer.score_batch_detailed([LONG_TEXT])
    assert windows == len(spans)
    per_window = [scorer.score_batch([LONG_TEXT[start:end]])[0] for start, end in spans]
    _assert_close(scores, {label: max(w[label] for w in per_window) for label in scores})
    assert scorer.score_batch([LONG_TEXT]) == [scores]


def test_character_windows_when_the_tokenizer_has_no_offsets(
    scorer: DetoxifyScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scorer, "_use_token_offsets", False)
    assert scorer.window_spans(TEXTS[4]) == [(0, len(TEXTS[4]))]
    spans = scorer.window_spans(LONG_TEXT)
    _assert_covering_windows(scorer, LONG_TEXT, spans)
    [(_, windows)] = scorer.score_batch_detailed([LONG_TEXT])
    assert windows == len(spans)


def test_plain_detoxify_loads_a_checkpoint_whose_model_type_is_local(
    scorer: DetoxifyScorer, tmp_path: Path
) -> None:
    from detoxify import Detoxify

    checkpoint = build_tiny_checkpoint(tmp_path, model_type=None)
    plain = Detoxify(
        checkpoint=str(checkpoint), huggingface_config_path=str(checkpoint.with_suffix(""))
    )
    # Same seed, same weights: the scorer's numbers are Detoxify's own.
    predicted = plain.predict(TEXTS[0])
    _assert_close(scorer.score_batch(TEXTS[:1])[0], {k: predicted[k] for k in TOXICITY_LABELS})


@pytest.mark.parametrize("where", ["model_dir", "torch_hub_cache"])
def test_named_model_loads_from_local_files(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    if where == "model_dir":
        target = tmp_path / "models" / "detoxify" / "original.ckpt"
    else:
        target = tmp_path / "torch" / "hub" / "checkpoints" / "toxic_original-c1212f89.ckpt"
    _install(tiny_checkpoint, target)
    loaded = load_scorer("original", tmp_path / "models", batch_size=4)
    assert isinstance(loaded, DetoxifyScorer)
    assert loaded.name == "detoxify:original"
    assert loaded.batch_size == 4


def test_missing_named_model_is_unavailable_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    started = time.monotonic()
    with pytest.raises(ScorerUnavailable, match=r"'original' is not installed.*original\.ckpt"):
        DetoxifyScorer("original", tmp_path)
    assert time.monotonic() - started < 5.0  # a hub lookup would retry for ~25 s


def test_relative_checkpoint_path_is_taken_from_model_dir(tiny_checkpoint: Path) -> None:
    loaded = load_scorer(tiny_checkpoint.name, tiny_checkpoint.parent, batch_size=2)
    assert loaded.name == "detoxify:tiny.ckpt"


def test_missing_checkpoint_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ScorerUnavailable, match="does not exist"):
        DetoxifyScorer("absent.ckpt", tmp_path)


def test_missing_config_folder_is_unavailable(tiny_checkpoint: Path, tmp_path: Path) -> None:
    shutil.copyfile(tiny_checkpoint, tmp_path / "lonely.ckpt")
    with pytest.raises(ScorerUnavailable, match=r"folder for lonely\.ckpt is missing"):
        DetoxifyScorer("lonely.ckpt", tmp_path)


def test_unreadable_checkpoint_is_unavailable(tiny_checkpoint: Path, tmp_path: Path) -> None:
    _install(tiny_checkpoint, tmp_path / "broken.ckpt")
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ScorerUnavailable, match="cannot read"):
        DetoxifyScorer("broken.ckpt", tmp_path)


def test_checkpoint_without_detoxify_config_is_unavailable(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    _install(tiny_checkpoint, tmp_path / "bare.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "bare.ckpt")
    with pytest.raises(ScorerUnavailable, match="not a Detoxify checkpoint"):
        DetoxifyScorer("bare.ckpt", tmp_path)


def test_base_model_config_without_the_classes_is_unavailable(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    from transformers import BertConfig

    _install(tiny_checkpoint, tmp_path / "base.ckpt")
    config = BertConfig.from_pretrained(tmp_path / "base", local_files_only=True)
    config.num_labels = 2
    config.save_pretrained(tmp_path / "base")
    with pytest.raises(ScorerUnavailable, match=r"declares 2 labels .* num_labels=6"):
        DetoxifyScorer("base.ckpt", tmp_path)


PLUGIN = """
class SlowScorer:
    name = "slow"

    def score_batch(self, texts):
        return [dict.fromkeys(LABELS, 0.25) for _ in texts]


class Nameless:
    pass


class Broken:
    def __init__(self):
        raise RuntimeError("no model here")


LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
"""


def test_load_scorer_plugs_in_a_python_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "civil_plugin_scorer.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "civil_plugin_scorer", raising=False)

    loaded = load_scorer("python:civil_plugin_scorer:SlowScorer", tmp_path, batch_size=8)
    assert loaded.name == "slow"
    assert loaded.score_batch(["a", "b"]) == [dict.fromkeys(TOXICITY_LABELS, 0.25)] * 2

    with pytest.raises(ScorerUnavailable, match="lacks the Scorer interface"):
        load_scorer("python:civil_plugin_scorer:Nameless", tmp_path, batch_size=8)
    with pytest.raises(ScorerUnavailable, match="failed to start: no model here"):
        load_scorer("python:civil_plugin_scorer:Broken", tmp_path, batch_size=8)
    with pytest.raises(ScorerUnavailable, match="cannot import"):
        load_scorer("python:civil_plugin_scorer:Missing", tmp_path, batch_size=8)
    with pytest.raises(ScorerUnavailable, match="cannot import"):
        load_scorer("python:civil_no_such_module:Scorer", tmp_path, batch_size=8)


@pytest.mark.parametrize("spec", ["", "bogus", "detoxify", "python:", "python:module_only"])
def test_unknown_spec_is_unavailable(spec: str, tmp_path: Path) -> None:
    with pytest.raises(ScorerUnavailable):
        load_scorer(spec, tmp_path, batch_size=8)


def test_detoxify_scorer_rejects_a_spec_that_is_no_model(tmp_path: Path) -> None:
    with pytest.raises(ScorerUnavailable, match="unknown Detoxify model"):
        DetoxifyScorer("bogus", tmp_path)


def test_importing_the_module_does_not_import_torch() -> None:
    probe = (
        "import sys, civil.toxicity.loader; print(sorted({'torch', 'detoxify'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_windows_are_batched_so_short_ones_never_pad_to_long_ones() -> None:
    from types import SimpleNamespace

    from civil.toxicity.detoxify import DetoxifyScorer

    lengths = [5, 8, 9, 20, 60, 70, 300, 310, 320, 330]
    pieces = sorted(((i, "x" * n) for i, n in enumerate(lengths)), key=lambda p: len(p[1]))
    chunks = list(DetoxifyScorer._chunks(SimpleNamespace(batch_size=3), pieces))  # type: ignore[arg-type]
    assert [piece for chunk in chunks for piece in chunk] == pieces  # nothing lost or reordered
    assert all(len(chunk) <= 3 for chunk in chunks)
    for chunk in chunks:
        shortest, longest = len(chunk[0][1]), len(chunk[-1][1])
        assert longest <= 2 * shortest + 64
    # 5, 8, 9 fill a batch; 20..70 fit in 2 x 20 + 64; 300 would pad 20 to 300: new batch.
    assert [[len(text) for _, text in chunk] for chunk in chunks] == [
        [5, 8, 9],
        [20, 60, 70],
        [300, 310, 320],
        [330],
    ]
