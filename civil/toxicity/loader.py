"""One spec string to a loaded toxicity scorer: Detoxify, ONNX, linear, cascade or a plug-in."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from civil.scoring import Scorer, ScorerUnavailable

if TYPE_CHECKING:
    pass
from civil.toxicity.detoxify import CHECKPOINT_SUFFIX, DETOXIFY_MODELS, DetoxifyScorer

PYTHON_PREFIX = "python:"


# Civil's own shipped models, by name (relative to CIVIL_MODEL_DIR).
LINEAR_DIR = "linear"
# The models the repository ships: what a site may choose for itself through the site API
# (a plug-in or a checkpoint path stays an operator's choice).
SHIPPED_SPECS = (
    "linear",
    "minilm",
    "cascade",
    "cascade-int8",
    "cascade-en",
    "onnx:minilm",
    "onnx-int8:minilm",
)
MINILM_CHECKPOINT = "minilm/civil-minilm.ckpt"
CASCADE_BANDS = "cascade.json"


def load_scorer(spec: str, model_dir: Path, batch_size: int = 32) -> Scorer:
    """Build the scorer ``spec`` names.

    ``cascade`` (linear + MiniLM), ``cascade-int8`` (the same with MiniLM in int8 ONNX
    Runtime), ``linear``, ``minilm``: Civil's shipped models; a Detoxify
    model name or a checkpoint path; ``onnx:<any of those transformer specs>`` for the
    int8 ONNX Runtime version; or ``python:module:Class``.
    """
    model_dir = Path(model_dir)
    if spec.startswith(PYTHON_PREFIX):
        return _load_python_scorer(spec.removeprefix(PYTHON_PREFIX))
    if spec.startswith(("onnx:", "onnx-int8:")):
        from civil.toxicity.onnx import load_onnx_scorer

        minilm = spec.split(":", 1)[1] == "minilm"
        target = spec.split(":", 1)[0] + ":" + MINILM_CHECKPOINT if minilm else spec
        return load_onnx_scorer(target, model_dir, batch_size=batch_size)
    if spec == "linear":
        from civil.toxicity.linear import LinearToxicityModel

        return LinearToxicityModel.load(model_dir / LINEAR_DIR)
    if spec == "minilm":
        return DetoxifyScorer(MINILM_CHECKPOINT, model_dir, batch_size=batch_size)
    if spec in ("cascade", "cascade-int8"):
        from civil.toxicity.language import wrap

        # Comments in the languages of models/multilingual go to that model; the decision
        # records the language and the model (civil/toxicity/language.py).
        return wrap(_load_cascade(model_dir, batch_size, int8=spec == "cascade-int8"), model_dir)
    if spec == "cascade-en":
        return _load_cascade(model_dir, batch_size)
    if spec in DETOXIFY_MODELS or spec.endswith(CHECKPOINT_SUFFIX):
        return DetoxifyScorer(spec, Path(model_dir), batch_size=batch_size)
    raise ScorerUnavailable(
        f"unknown toxicity model {spec!r}: expected one of {', '.join(DETOXIFY_MODELS)}, "
        f"a path ending in {CHECKPOINT_SUFFIX}, or {PYTHON_PREFIX}package.module:ClassName"
    )


def _load_cascade(model_dir: Path, batch_size: int, int8: bool = False) -> Scorer:
    from civil.toxicity.cascade import (
        CascadeScorer,
        load_bands,
        load_linear_weight,
        load_sentence_gate,
    )
    from civil.toxicity.linear import LinearToxicityModel

    try:
        bands = load_bands(model_dir / CASCADE_BANDS)
        linear_weight = load_linear_weight(model_dir / CASCADE_BANDS)
        sentence_gate, confident_weight = load_sentence_gate(model_dir / CASCADE_BANDS)
    except (OSError, ValueError, KeyError) as exc:
        raise ScorerUnavailable(f"cascade bands {model_dir / CASCADE_BANDS}: {exc}") from exc
    fast = LinearToxicityModel.load(model_dir / LINEAR_DIR)
    slow: DetoxifyScorer
    if int8:
        # The same MiniLM through ONNX Runtime with int8 weights: ~2x faster on a CPU for a
        # measured ~0.0005 mean AUC (models/README.md); exported once, then cached.
        from civil.toxicity.onnx import load_onnx_scorer

        slow = load_onnx_scorer("onnx-int8:" + MINILM_CHECKPOINT, model_dir, batch_size=batch_size)
    else:
        slow = DetoxifyScorer(MINILM_CHECKPOINT, model_dir, batch_size=batch_size)
    from civil.toxicity.threats import ThreatRuleScorer

    # Threats of violence are also read as grammar: the models barely know a threat against
    # the reader (civil/toxicity/threats.py); the rules only ever raise `threat`.
    return ThreatRuleScorer(
        CascadeScorer(
            fast,
            slow,
            bands,
            linear_weight,
            sentence_gate=sentence_gate,
            confident_weight=confident_weight,
        )
    )


def _load_python_scorer(target: str) -> Scorer:
    module_name, _, class_name = target.partition(":")
    if not module_name or not class_name:
        raise ScorerUnavailable(
            f"scorer {target!r} must be given as {PYTHON_PREFIX}package.module:ClassName"
        )
    try:
        factory = getattr(importlib.import_module(module_name), class_name)
    except Exception as exc:
        raise ScorerUnavailable(f"cannot import scorer {target!r}: {exc}") from exc
    try:
        scorer = factory()
    except ScorerUnavailable:
        raise
    except Exception as exc:
        raise ScorerUnavailable(f"scorer {target!r} failed to start: {exc}") from exc
    if not isinstance(scorer, Scorer):
        raise ScorerUnavailable(f"{target!r} lacks the Scorer interface (name, score_batch)")
    return scorer
