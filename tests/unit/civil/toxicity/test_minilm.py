"""The MiniLM training script on a tiny random-weight model: loss masking, resume, export."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertModel

from civil.scoring import TOXICITY_LABELS
from civil.toxicity import dataset
from civil.toxicity.detoxify import DetoxifyScorer
from civil.toxicity.training.minilm import batches, cli, export, loop
from civil.toxicity.training.minilm import checkpoint as run_files
from civil.toxicity.training.minilm import config as run_config
from civil.toxicity.training.minilm import model as base_model
from tests.support.offline import refusing_network
from tests.support.tiny_detoxify import build_tiny_checkpoint

WORDS = [
    "you",
    "are",
    "a",
    "stupid",
    "idiot",
    "thanks",
    "great",
    "article",
    "kill",
    "hate",
    "nice",
    "people",
    "agree",
    "really",
    "good",
    "post",
]
TOXIC_WORDS = {"stupid", "idiot", "kill", "hate"}


@pytest.fixture
def offline() -> Iterator[list[tuple[object, ...]]]:
    """Make every network attempt fail, and record it."""
    with refusing_network() as attempts:
        yield attempts


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT encoder with its tokenizer, laid out like the MiniLM package folder."""
    checkpoint = build_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))
    folder = checkpoint.with_suffix("")
    config = BertConfig.from_pretrained(folder, local_files_only=True)
    config.initializer_range = 0.02
    torch.manual_seed(0)
    BertModel(config, add_pooling_layer=True).save_pretrained(folder)
    return folder


def _labels(text: str, *, six: bool) -> dict[str, int | None]:
    toxic = int(bool(TOXIC_WORDS & set(text.split())))
    if not six:
        return {"toxicity": toxic, **dict.fromkeys(TOXICITY_LABELS[1:])}
    return {
        "toxicity": toxic,
        "severe_toxicity": int("kill" in text and "hate" in text),
        "obscene": int("stupid" in text),
        "threat": int("kill" in text),
        "insult": int("idiot" in text),
        "identity_attack": int("hate" in text and "people" in text),
    }


def _write_split(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for index in range(rows):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12)))
            six = index % 3 == 0
            record = {
                "text": text,
                "labels": _labels(text, six=six),
                "source": "jigsaw-6label" if six else rng.choice(["olid", "davidson"]),
                "lang": "en",
            }
            handle.write(json.dumps(record) + "\n")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    _write_split(folder / "train.jsonl", 120, 1)
    _write_split(folder / "valid.jsonl", 60, 2)
    _write_split(folder / "test.jsonl", 60, 3)
    return folder


def _config(base: Path, **overrides: object) -> run_config.TrainConfig:
    values: dict[str, object] = {
        "base": str(base),
        "max_len": 32,
        "batch_size": 8,
        "max_steps": 4,
        "eval_every": 2,
        "threads": 1,
        "device": "cpu",
        "source_caps": {"default": 20},
        "full_repeat": 1,
        "lr": 1e-3,
    }
    values.update(overrides)
    return run_config.TrainConfig(**values)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- loss


def test_masked_labels_contribute_no_loss_and_no_gradient() -> None:
    torch.manual_seed(0)
    logits = torch.randn(4, 6, requires_grad=True)
    targets = torch.tensor(
        [[1, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], [0, 1, 0, 1, 0, 1]],
        dtype=torch.float32,
    )
    mask = torch.ones_like(targets, dtype=torch.bool)
    mask[1:, 1:] = False  # rows 1-3 know only toxicity
    poisoned = targets.clone()
    poisoned[~mask] = float("nan")

    loss = loop.masked_bce_loss(logits, poisoned, mask)
    loss.backward()
    assert torch.isfinite(loss)
    assert logits.grad is not None
    assert torch.all(logits.grad[~mask] == 0)
    assert torch.all(logits.grad[mask] != 0)

    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits.detach()[mask], targets[mask]
    )
    assert loss.item() == pytest.approx(float(expected), rel=1e-6)
    # Whatever the unknown labels say, the loss is the same.
    flipped = torch.where(mask, targets, 1 - targets)
    assert float(loop.masked_bce_loss(logits.detach(), flipped, mask)) == pytest.approx(loss.item())


def test_all_masked_batch_gives_zero_loss() -> None:
    logits = torch.randn(3, 6, requires_grad=True)
    targets = torch.full((3, 6), float("nan"))
    loss = loop.masked_bce_loss(logits, targets, ~torch.isnan(targets))
    loss.backward()
    assert loss.item() == 0.0
    assert logits.grad is not None and torch.all(logits.grad == 0)


def test_label_weights_scale_a_labels_share() -> None:
    logits = torch.zeros(2, 6)
    targets = torch.ones(2, 6)
    mask = torch.ones(2, 6, dtype=torch.bool)
    plain = loop.masked_bce_loss(logits, targets, mask)
    weights = torch.tensor([1.0, 1.0, 1.0, 3.0, 1.0, 1.0])
    weighted = loop.masked_bce_loss(logits, targets, mask, weights)
    assert float(weighted) == pytest.approx(float(plain) * 8 / 6)


# ----------------------------------------------------------------------------- sampling


def test_epoch_rows_keep_full_rows_and_cap_the_others(data_dir: Path) -> None:
    data = dataset.read_dataset(data_dir / "train.jsonl")
    config = run_config.TrainConfig(source_caps={"default": 10, "olid": -1}, full_repeat=2)
    rows = batches.epoch_rows(data, config, 0)
    sources = [data.sources[i] for i in rows]
    assert sources.count("jigsaw-6label") == 2 * 40
    assert sources.count("davidson") == 10
    assert sources.count("olid") == sum(s == "olid" for s in data.sources)
    assert np.array_equal(rows, batches.epoch_rows(data, config, 0))
    assert not np.array_equal(rows, batches.epoch_rows(data, config, 1))


# ----------------------------------------------------------------------------- training, resume


def test_training_runs_two_steps_then_resumes_like_an_uninterrupted_run(
    tiny_base: Path, data_dir: Path, tmp_path: Path
) -> None:
    interrupted = tmp_path / "interrupted"
    state = loop.train(
        _config(tiny_base),
        data_dir,
        interrupted,
        progress=False,
        log=lambda _m: None,
        stop_after_steps=2,
    )
    assert state.step == 2 and not state.done
    saved = torch.load(interrupted / run_config.LAST, map_location="cpu", weights_only=False)
    assert saved["state"]["step"] == 2
    assert saved["state"]["samples_seen"] == 16
    assert {"model", "optimizer", "scheduler", "rng"} <= saved.keys()
    assert (interrupted / run_config.BEST_WEIGHTS).exists()  # validated at step 2

    messages: list[str] = []
    state = loop.train(
        _config(tiny_base), data_dir, interrupted, progress=False, log=messages.append
    )
    assert any("resumed" in message and "step 2" in message for message in messages)
    assert state.step == 4 and state.done

    straight = tmp_path / "straight"
    loop.train(_config(tiny_base), data_dir, straight, progress=False, log=lambda _m: None)
    resumed_weights = torch.load(interrupted / run_config.LAST, weights_only=False)["model"]
    straight_weights = torch.load(straight / run_config.LAST, weights_only=False)["model"]
    for key, value in straight_weights.items():
        assert torch.allclose(resumed_weights[key], value, atol=1e-6), key
    history = [
        json.loads(line) for line in (interrupted / run_config.HISTORY).read_text().splitlines()
    ]
    assert [entry["step"] for entry in history] == [2, 4]
    assert all(entry["auc"]["toxicity"] is not None for entry in history)


def test_resume_keeps_the_saved_settings(tiny_base: Path, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    loop.train(
        _config(tiny_base), data_dir, out, progress=False, log=lambda _m: None, stop_after_steps=1
    )
    messages: list[str] = []
    state = loop.train(
        _config(tiny_base, lr=0.5, eval_every=1),
        data_dir,
        out,
        progress=False,
        log=messages.append,
        stop_after_steps=1,
    )
    assert state.step == 2
    assert any("keeping its saved settings for lr" in message for message in messages)
    assert json.loads((out / "config.json").read_text())["lr"] == 1e-3


# ----------------------------------------------------------------------------- export


@pytest.fixture(scope="module")
def trained_run(tiny_base: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    loop.train(
        _config(tiny_base, max_steps=6, eval_every=3),
        data_dir,
        out,
        progress=False,
        log=lambda _m: None,
    )
    return out


def test_export_loads_through_detoxify_scorer_offline(
    trained_run: Path, data_dir: Path, tmp_path: Path, offline: list[tuple[object, ...]]
) -> None:
    dest = tmp_path / "models" / "minilm"
    metrics = export.export(trained_run, dest, data_dir=data_dir, log=lambda _m: None)
    ckpt = dest / "civil-minilm.ckpt"
    folder = dest / "civil-minilm"
    assert ckpt.is_file() and (folder / "config.json").is_file()

    # Plain dicts, strings and tensors only: loads without unpickling arbitrary objects.
    loaded = torch.load(ckpt, weights_only=True)
    args = loaded["config"]["arch"]["args"]
    assert args["model_name"] == "BertForSequenceClassification"
    assert args["num_classes"] == 6
    assert loaded["config"]["dataset"]["args"]["classes"] == list(run_config.DETOXIFY_CLASSES)
    assert {v.dtype for v in loaded["state_dict"].values() if v.is_floating_point()} == {
        torch.float16
    }
    assert len(json.loads((folder / "config.json").read_text())["id2label"]) == 6

    scorer = DetoxifyScorer(str(ckpt), dest, batch_size=4)
    assert {p.dtype for p in scorer.detoxify.model.parameters()} == {torch.float32}
    texts = ["you are a stupid idiot", "thanks for the great article", ""]
    scores = scorer.score_batch(texts)
    assert all(set(row) == set(TOXICITY_LABELS) for row in scores)

    # The same numbers as the trained weights (rounded to fp16) in a plain model.
    best = load_file(str(trained_run / run_config.BEST_WEIGHTS))
    model = base_model.load_base_model(
        Path(json.loads((trained_run / "config.json").read_text())["base"])
    )
    model.load_state_dict({k: v.half().float() for k, v in best.items()})
    tokenizer = base_model.load_tokenizer(folder)
    ids = batches.tokenize(tokenizer, texts, 32)
    expected = base_model.predict_ids(model, ids, tokenizer.pad_token_id, 8, "cpu")
    got = np.asarray([[row[label] for label in TOXICITY_LABELS] for row in scores])
    assert np.allclose(got, expected, atol=1e-5)

    assert metrics["test"]["all_rows"]["labels"]["toxicity"]["auc"] is not None
    assert metrics["training"]["samples_seen"] == 48
    on_disk = json.loads((dest / "metrics.json").read_text())
    assert on_disk["files"]["civil-minilm.ckpt"] == ckpt.stat().st_size


def test_exported_checkpoint_loads_in_plain_detoxify_offline(
    trained_run: Path, tmp_path: Path, offline: list[tuple[object, ...]]
) -> None:
    from detoxify import Detoxify

    dest = tmp_path / "export"
    export.export(trained_run, dest, data_dir=None, evaluate=False, log=lambda _m: None)
    # Outside the repository model_type is the folder's absolute path, so Detoxify itself
    # reads only local files.
    detoxify = Detoxify(
        checkpoint=str(dest / "civil-minilm.ckpt"),
        huggingface_config_path=str(dest / "civil-minilm"),
    )
    result = detoxify.predict(["you are a stupid idiot", "nice post"])
    assert set(result) == set(TOXICITY_LABELS)
    assert all(0.0 <= value <= 1.0 for values in result.values() for value in values)


def test_command_line_parses_caps_and_weights() -> None:
    args = cli.build_parser().parse_args(
        [
            "train",
            "--source-caps",
            "olid=none,default=7",
            "--label-weights",
            "threat=4",
            "--langs",
            "en",
            "--max-len",
            "64",
        ]
    )
    config = cli.config_from_args(args)
    assert config.source_caps["olid"] == -1 and config.source_caps["default"] == 7
    assert (
        config.source_caps["jigsaw-binary"] == run_config.TrainConfig().source_caps["jigsaw-binary"]
    )
    assert config.label_weights["threat"] == 4.0 and config.label_weights["toxicity"] == 1.0
    assert config.langs == ("en",) and config.max_len == 64


def test_thread_tuner_probes_and_keeps_the_faster_setting() -> None:
    class FakeTorch:
        threads = 2

        def get_num_threads(self) -> int:
            return self.threads

        def set_num_threads(self, n: int) -> None:
            self.threads = n

    fake = FakeTorch()
    tuner = loop.ThreadTuner(fake, 2, cycle=10, probe=2)
    speed = {1: 100.0, 2: 40.0}  # tokens per second: one thread is faster here
    used = []
    for step in range(40):
        tuner.before_step(step)
        used.append(fake.threads)
        tuner.after_step(int(speed[fake.threads]), 1.0)
    assert set(used) == {1, 2}
    # After the first probes, the tuner settles on one thread outside its probe steps.
    assert all(used[step] == 1 for step in range(20, 40) if step % 10 >= 2)
    assert not loop.ThreadTuner(fake, 1).active


def test_resume_can_shorten_the_schedule_when_asked(
    tiny_base: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    loop.train(
        _config(tiny_base, max_steps=6),
        data_dir,
        out,
        progress=False,
        log=lambda _m: None,
        stop_after_steps=3,
    )
    # Not named as explicit: the saved schedule (6 steps) stands.
    state = loop.train(
        _config(tiny_base, max_steps=4),
        data_dir,
        out,
        progress=False,
        log=lambda _m: None,
        stop_after_steps=1,
    )
    assert state.step == 4 and not state.done
    # Named explicitly, and already reached: validate, finish, save.
    messages: list[str] = []
    state = loop.train(
        _config(tiny_base, max_steps=3),
        data_dir,
        out,
        progress=False,
        log=messages.append,
        explicit={"max_steps"},
    )
    assert state.done and state.step == 4
    assert any("schedule changed (max_steps)" in message for message in messages)
    saved = torch.load(out / run_config.LAST, weights_only=False)
    assert saved["state"]["done"] and saved["total_steps"] == 3


def test_identity_augmentation_is_labelled_and_unlike_the_bias_test() -> None:
    from civil.toxicity.training import evaluate

    extra = batches.identity_dataset()
    benign = ~np.isnan(extra.labels).any(axis=1)
    assert benign.sum() > 0 and (~benign).sum() > 0
    assert (extra.labels[benign] == 0).all()
    column = {label: i for i, label in enumerate(TOXICITY_LABELS)}
    for label in ("toxicity", "insult", "identity_attack"):
        assert (extra.labels[~benign, column[label]] == 1).all()
    assert np.isnan(extra.labels[~benign, column["threat"]]).all()  # unknown, not "no threat"
    tested = {
        text.lower()
        for _, text in evaluate.template_sentences(
            evaluate.NON_TOXIC_TEMPLATES + evaluate.TOXIC_TEMPLATES
        )
    }
    assert not tested & {text.lower() for text in extra.texts}


def test_training_can_start_from_a_detoxify_checkpoint(
    trained_run: Path, data_dir: Path, tmp_path: Path
) -> None:
    exported = tmp_path / "export"
    export.export(trained_run, exported, data_dir=None, evaluate=False, log=lambda _m: None)
    base = Path(json.loads((trained_run / "config.json").read_text())["base"])
    start = base_model.load_base_model(base)
    run_files.load_init_checkpoint(start, exported / "civil-minilm.ckpt")
    best = load_file(str(trained_run / run_config.BEST_WEIGHTS))
    for key, value in start.state_dict().items():
        assert torch.equal(value, best[key].half().float()), key
    args = cli.build_parser().parse_args(
        ["train", "--init-checkpoint", "x.ckpt", "--identity-augment"]
    )
    config = cli.config_from_args(args)
    assert (config.init_checkpoint, config.identity_augment) == ("x.ckpt", True)
    assert cli.config_from_args(cli.build_parser().parse_args(["train"])).identity_augment is False
