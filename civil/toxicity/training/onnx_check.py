"""Compare an ONNX (int8) scorer against torch: agreement, ROC-AUC and speed."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.detoxify import (
    DetoxifyScorer,
)
from civil.toxicity.onnx import OnnxScorer

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

    from civil.toxicity.dataset import read_dataset
    from civil.toxicity.metrics import label_aucs, mean_auc

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
    """``python -m civil.toxicity.training.onnx_check compare|build ...``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m civil.toxicity.training.onnx_check")
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
