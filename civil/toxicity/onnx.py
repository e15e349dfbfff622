"""Detoxify-format models run by ONNX Runtime, optionally dynamic-quantized to int8.

Works for Civil's own MiniLM (``models/minilm/civil-minilm.ckpt``) and for the official
Detoxify architectures (BERT ``original``, RoBERTa ``unbiased``, XLM-R ``multilingual``,
ALBERT ``*-small``): any checkpoint ``civil.toxicity.detoxify.DetoxifyScorer`` can load offline.

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
from civil.toxicity.detoxify import (
    CHECKPOINT_SUFFIX,
    DETOXIFY_MODELS,
    DetoxifyScorer,
    _find_named_checkpoint,
    _load_detoxify,
    window_tokens,
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
        self.window_tokens = window_tokens(self._tokenizer, config)
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
