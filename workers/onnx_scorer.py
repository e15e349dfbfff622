"""Detoxify-format models run by ONNX Runtime, optionally dynamic-quantized to int8.

Works for Civil's own MiniLM (``models/minilm/civil-minilm.ckpt``) and for the official
Detoxify architectures (BERT ``original``, RoBERTa ``unbiased``, XLM-R ``multilingual``,
ALBERT ``*-small``): any checkpoint ``workers.scorers.DetoxifyScorer`` can load offline.

The first load of a checkpoint exports it to ONNX (the legacy TorchScript exporter, traced on
a padded batch with eager attention so that the attention mask stays in the graph), checks
the ONNX logits against torch, and, with ``quantize=True``, quantizes the weights of every
MatMul and embedding to int8 (``onnxruntime.quantization.quantize_dynamic``). The results are
cached under ``cache_dir`` (default ``$CIVIL_DATA_DIR/onnx``, else ``var/onnx``), named after
the checkpoint's SHA-256, with a JSON sidecar naming the classes and the tokenizer; later
loads only read the ONNX file and the tokenizer folder beside the checkpoint. Nothing is
ever downloaded.

Long texts are windowed exactly like ``DetoxifyScorer`` (overlapping windows of tokenizer
tokens, max over windows per label): ``OnnxScorer`` subclasses it and replaces only the model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from civil.scoring import TOXICITY_LABELS, ScorerUnavailable
from workers.scorers import (
    _OFFSET_POSITION_MODELS,
    CHECKPOINT_SUFFIX,
    DETOXIFY_MODELS,
    DetoxifyScorer,
    _find_named_checkpoint,
    _load_detoxify,
)

# Bump when the export or quantization recipe changes, so old cache files are not reused.
EXPORT_VERSION = 1
OPSET = 17
ONNX_PREFIX = "onnx:"
ONNX_INT8_PREFIX = "onnx-int8:"
# Detoxify's renaming of the original class names.
_CLASS_NAMES = {
    "toxic": "toxicity",
    "identity_hate": "identity_attack",
    "severe_toxic": "severe_toxicity",
}


def default_cache_dir() -> Path:
    """``$CIVIL_DATA_DIR/onnx``, else ``var/onnx``."""
    return Path(os.environ.get("CIVIL_DATA_DIR", "var")) / "onnx"


def resolve_checkpoint(spec: str, model_dir: Path) -> Path:
    """The checkpoint file a Detoxify model name or ``.ckpt`` spec names (like DetoxifyScorer)."""
    model_dir = Path(model_dir)
    if spec in DETOXIFY_MODELS:
        import torch
        from detoxify.detoxify import MODEL_URLS

        hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
        return _find_named_checkpoint(spec, model_dir, hub_dir, MODEL_URLS[spec])
    if spec.endswith(CHECKPOINT_SUFFIX):
        checkpoint = model_dir / Path(spec).expanduser()
        if not checkpoint.is_file():
            raise ScorerUnavailable(f"Detoxify checkpoint {checkpoint} does not exist")
        return checkpoint
    raise ScorerUnavailable(
        f"unknown Detoxify model {spec!r}: expected one of {', '.join(DETOXIFY_MODELS)} "
        f"or a path ending in {CHECKPOINT_SUFFIX}"
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _logits_module(model: Any, input_names: Sequence[str]) -> Any:
    """Wrap a Hugging Face classifier: positional inputs in, logits out (what tracing needs)."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(input_names, inputs, strict=True))).logits

    # eval() before export: the exporter restores the wrapper's mode (recursively) afterwards.
    return Logits().eval()


def export_onnx(model: Any, tokenizer: Any, path: Path, *, check: bool = True) -> list[str]:
    """Export a transformers sequence classifier to ONNX at ``path``; return its input names.

    The model is traced on a padded two-text batch with eager attention, with dynamic batch
    and sequence axes. With ``check``, the ONNX logits must match torch's within 1e-3.
    """
    import torch

    model = model.eval()
    if hasattr(model, "set_attn_implementation"):
        with contextlib.suppress(ValueError, AttributeError, NotImplementedError):
            model.set_attn_implementation("eager")
    else:  # pragma: no cover - transformers 4
        model.config._attn_implementation = "eager"
    input_names = [
        name
        for name in tokenizer.model_input_names
        if name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    sample = tokenizer(
        ["a short text", "a somewhat longer text, so that the batch needs some padding here"],
        padding=True,
        return_tensors="pt",
    )
    inputs = tuple(sample[name] for name in input_names)
    wrapper = _logits_module(model, input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes["logits"] = {0: "batch"}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated (and warns about it) and tracing warns about
        # Python branches on tensor values; the parity check below is what guards the graph.
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(
                wrapper,
                inputs,
                str(partial),
                input_names=input_names,
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
    if check:
        import onnxruntime as ort

        session = ort.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
        probe = tokenizer(
            ["one more text to check", "and another, longer one, to check that padding works"],
            padding=True,
            return_tensors="pt",
        )
        with torch.no_grad():
            expected = wrapper(*(probe[name] for name in input_names)).numpy()
        got = session.run(None, {name: probe[name].numpy() for name in input_names})[0]
        error = float(np.abs(got - expected).max())
        if error > 1e-3:
            partial.unlink()
            raise RuntimeError(f"ONNX export differs from torch by {error:.2e}")
    os.replace(partial, path)
    return input_names


def quantize_int8(
    source: Path, target: Path, *, per_channel: bool = True, reduce_range: bool = False
) -> Path:
    """Dynamic int8 quantization of ``source``'s weights (MatMul, Gather) into ``target``.

    Signed int8 weights, one scale per output channel: on the shipped MiniLM this moved the
    scores least (mean |int8 - fp32| 0.003 against 0.006 per tensor; reduce_range, meant for
    CPUs without VNNI, doubled the error here). Activations are quantized per batch at run time.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = Path(target).with_name(Path(target).name + ".partial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(
            str(source),
            str(partial),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            reduce_range=reduce_range,
        )
    os.replace(partial, target)
    return Path(target)


def build_onnx(
    checkpoint: Path, cache_dir: Path, *, quantize: bool = True
) -> tuple[Path, dict[str, Any]]:
    """Return the cached ONNX file for ``checkpoint`` and its sidecar, building them if needed."""
    checkpoint = Path(checkpoint)
    digest = file_sha256(checkpoint)[:16]
    stem = f"{checkpoint.stem}-{digest}-v{EXPORT_VERSION}"
    cache_dir = Path(cache_dir)
    fp32_path = cache_dir / f"{stem}.onnx"
    int8_path = cache_dir / f"{stem}.int8.onnx"
    meta_path = cache_dir / f"{stem}.json"
    wanted = int8_path if quantize else fp32_path
    if wanted.is_file() and meta_path.is_file():
        return wanted, json.loads(meta_path.read_text(encoding="utf-8"))

    if not fp32_path.is_file() or not meta_path.is_file():
        detoxify = _load_detoxify(checkpoint)
        input_names = export_onnx(detoxify.model, detoxify.tokenizer, fp32_path)
        meta = {
            "checkpoint": checkpoint.name,
            "sha256_16": digest,
            "classes": list(detoxify.class_names),
            "tokenizer_class": type(detoxify.tokenizer).__name__,
            "input_names": input_names,
            "export_version": EXPORT_VERSION,
        }
        meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        del detoxify
    if quantize and not int8_path.is_file():
        quantize_int8(fp32_path, int8_path)
    return wanted, json.loads(meta_path.read_text(encoding="utf-8"))


class OnnxScorer(DetoxifyScorer):
    """Score texts with a Detoxify-format model through ONNX Runtime (int8 by default)."""

    def __init__(
        self,
        spec: str,
        model_dir: Path,
        *,
        quantize: bool = True,
        cache_dir: Path | None = None,
        batch_size: int = 32,
        threads: int = 0,
        max_chars_per_window: int = 2000,
    ) -> None:
        """Load (building it once if needed) the ONNX model for ``spec``.

        Raises ScorerUnavailable when the checkpoint, its folder or onnxruntime is missing.
        """
        if batch_size < 1 or max_chars_per_window < 1:
            raise ValueError("batch_size and max_chars_per_window must be positive")
        try:
            import onnxruntime as ort
            import transformers
        except ImportError as exc:
            raise ScorerUnavailable(f"onnxruntime cannot be imported: {exc}") from exc

        checkpoint = resolve_checkpoint(spec, Path(model_dir))
        hf_dir = checkpoint.with_suffix("")
        if not hf_dir.is_dir():
            raise ScorerUnavailable(
                f"the Hugging Face config/tokenizer folder for {checkpoint.name} is missing: "
                f"expected {hf_dir}"
            )
        try:
            onnx_path, meta = build_onnx(
                checkpoint,
                Path(cache_dir) if cache_dir else default_cache_dir(),
                quantize=quantize,
            )
        except ScorerUnavailable:
            raise
        except Exception as exc:
            raise ScorerUnavailable(f"cannot build the ONNX model for {checkpoint}: {exc}") from exc

        try:
            tokenizer_class = getattr(transformers, meta["tokenizer_class"])
            self._tokenizer = tokenizer_class.from_pretrained(str(hf_dir), local_files_only=True)
            config = transformers.AutoConfig.from_pretrained(str(hf_dir), local_files_only=True)
            options = ort.SessionOptions()
            # Follow the process's torch setting (the worker sets one thread per prefork
            # process): ONNX Runtime would otherwise start a thread per core in every process.
            options.intra_op_num_threads = threads if threads > 0 else _torch_threads()
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self.session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ScorerUnavailable(f"cannot load {onnx_path}: {exc}") from exc

        classes = [_CLASS_NAMES.get(name, name) for name in meta["classes"]]
        missing = [label for label in TOXICITY_LABELS if label not in classes]
        if missing:
            raise ScorerUnavailable(f"{checkpoint.name} does not predict {', '.join(missing)}")
        self._columns = [classes.index(label) for label in TOXICITY_LABELS]
        self._input_names = list(meta["input_names"])
        self.onnx_path = onnx_path
        self.name = f"onnx{'-int8' if quantize else ''}:{checkpoint.name}"
        self.batch_size = batch_size
        self.max_chars_per_window = max_chars_per_window
        self.window_tokens = _window_tokens(self._tokenizer, config)
        self.overlap_tokens = max(1, self.window_tokens // 8)
        self._use_token_offsets = bool(getattr(self._tokenizer, "is_fast", False))

    def _predict(self, batch: list[str]) -> list[dict[str, float]]:
        encoded = self._tokenizer(
            batch, padding=True, truncation=True, return_tensors="np", verbose=False
        )
        feeds = {name: encoded[name].astype(np.int64) for name in self._input_names}
        logits = self.session.run(None, feeds)[0]
        scores = 1.0 / (1.0 + np.exp(-logits[:, self._columns].astype(np.float64)))
        return [{label: float(row[i]) for i, label in enumerate(TOXICITY_LABELS)} for row in scores]


def _torch_threads() -> int:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch comes with detoxify
        return 0
    return int(torch.get_num_threads())


def _window_tokens(tokenizer: Any, config: Any) -> int:
    # The same rule as workers.scorers._window_tokens, from the config instead of a model.
    limit = int(tokenizer.model_max_length)
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        if config.model_type in _OFFSET_POSITION_MODELS:
            positions -= (config.pad_token_id or 0) + 1
        limit = min(limit, positions)
    return limit - tokenizer.num_special_tokens_to_add(pair=False)


def load_onnx_scorer(
    spec: str, model_dir: Path, batch_size: int = 32, cache_dir: Path | None = None
) -> OnnxScorer:
    """``onnx-int8:<name or .ckpt>`` (quantized) or ``onnx:<name or .ckpt>`` (float32)."""
    if spec.startswith(ONNX_INT8_PREFIX):
        return OnnxScorer(
            spec.removeprefix(ONNX_INT8_PREFIX),
            model_dir,
            quantize=True,
            cache_dir=cache_dir,
            batch_size=batch_size,
        )
    if spec.startswith(ONNX_PREFIX):
        return OnnxScorer(
            spec.removeprefix(ONNX_PREFIX),
            model_dir,
            quantize=False,
            cache_dir=cache_dir,
            batch_size=batch_size,
        )
    raise ScorerUnavailable(
        f"{spec!r} is not an ONNX model spec: expected {ONNX_INT8_PREFIX}NAME or {ONNX_PREFIX}NAME"
    )


# ----------------------------------------------------------------------------- measuring


def _scores(scorer: Any, texts: Sequence[str]) -> np.ndarray:
    return np.asarray(
        [[row[label] for label in TOXICITY_LABELS] for row in scorer.score_batch(list(texts))]
    )


def _speed(scorer: Any, texts: Sequence[str], single: int) -> dict[str, float]:
    """Comments/s in one batched call, and one comment per call (p50/p95 latency)."""
    import time

    started = time.perf_counter()
    scorer.score_batch(list(texts))
    batched = len(texts) / (time.perf_counter() - started)
    latencies = []
    for text in texts[:single]:
        started = time.perf_counter()
        scorer.score_batch([text])
        latencies.append(time.perf_counter() - started)
    return {
        "batched_per_s": round(batched, 1),
        "single_per_s": round(len(latencies) / sum(latencies), 1),
        "single_p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 2),
        "single_p95_ms": round(float(np.percentile(latencies, 95)) * 1000, 2),
    }


def compare(
    spec: str,
    model_dir: Path,
    data: Path,
    *,
    cache_dir: Path | None = None,
    limit: int = 0,
    single: int = 200,
    short: int = 1000,
    batch_size: int = 32,
    threads: int = 0,
) -> dict[str, Any]:
    """Accuracy (per-label ROC-AUC) of torch fp32, ONNX fp32 and ONNX int8 on ``data``, and speed.

    ``batched_per_s`` is the rate of the scoring pass over all of ``data`` (long comments
    windowed); ``speed_short`` scores the first ``short`` comments of at most 40 words,
    batched and then ``single`` of them one per call.
    """
    import time

    from civil.toxicity.train_minilm import label_aucs, mean_auc, read_dataset

    dataset = read_dataset(Path(data))
    texts = dataset.texts[:limit] if limit else dataset.texts
    labels = dataset.labels[: len(texts)]
    short_texts = [text for text in texts if len(text.split()) <= 40][:short]
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    builders = {
        "torch-fp32": lambda: DetoxifyScorer(spec, Path(model_dir), batch_size=batch_size),
        "onnx-fp32": lambda: OnnxScorer(
            spec,
            Path(model_dir),
            quantize=False,
            cache_dir=cache_dir,
            batch_size=batch_size,
            threads=threads,
        ),
        "onnx-int8": lambda: OnnxScorer(
            spec,
            Path(model_dir),
            quantize=True,
            cache_dir=cache_dir,
            batch_size=batch_size,
            threads=threads,
        ),
    }
    report: dict[str, Any] = {
        "data": str(data),
        "rows": len(texts),
        "mean_words": round(float(np.mean([len(t.split()) for t in texts])), 1),
        "short_rows": len(short_texts),
        "spec": spec,
        "cpu_threads": os.cpu_count(),
    }
    reference: np.ndarray | None = None
    for name, build in builders.items():
        started = time.perf_counter()
        scorer = build()
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        scores = _scores(scorer, texts)
        seconds = time.perf_counter() - started
        aucs = label_aucs(labels, scores)
        entry: dict[str, Any] = {
            "mean_auc": mean_auc(aucs),
            "auc": {label: value["auc"] for label, value in aucs.items()},
            "load_seconds": round(load_seconds, 2),
            "batched_per_s": round(len(texts) / seconds, 1),
            "speed_short": _speed(scorer, short_texts, single),
        }
        if isinstance(scorer, OnnxScorer):
            entry["file_bytes"] = scorer.onnx_path.stat().st_size
        if reference is None:
            reference = scores
        else:
            entry["max_abs_diff_vs_torch"] = float(np.abs(scores - reference).max())
            entry["mean_abs_diff_vs_torch"] = float(np.abs(scores - reference).mean())
        report[name] = entry
        print(name, json.dumps(entry), flush=True)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m workers.onnx_scorer compare|build ...``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m workers.onnx_scorer")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="export (and quantize) a checkpoint into the cache")
    build.add_argument("spec")
    build.add_argument("--model-dir", type=Path, default=Path("models"))
    build.add_argument("--cache-dir", type=Path)
    build.add_argument("--fp32", action="store_true")
    measure = commands.add_parser("compare", help="AUC and speed: torch vs ONNX fp32 vs int8")
    measure.add_argument("spec")
    measure.add_argument("--model-dir", type=Path, default=Path("models"))
    measure.add_argument("--data", type=Path, required=True, help="JSONL with labels")
    measure.add_argument("--cache-dir", type=Path)
    measure.add_argument("--limit", type=int, default=0)
    measure.add_argument("--single", type=int, default=200)
    measure.add_argument("--short", type=int, default=1000)
    measure.add_argument("--batch-size", type=int, default=32)
    measure.add_argument("--threads", type=int, default=0)
    measure.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    if args.command == "build":
        scorer = OnnxScorer(
            args.spec, args.model_dir, quantize=not args.fp32, cache_dir=args.cache_dir
        )
        print(scorer.onnx_path)
        return 0
    report = compare(
        args.spec,
        args.model_dir,
        args.data,
        cache_dir=args.cache_dir,
        limit=args.limit,
        single=args.single,
        short=args.short,
        batch_size=args.batch_size,
        threads=args.threads,
    )
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
