"""Toxicity model speed: comments/s single and batched, p50/p95 ms per comment, load time.

    python bench/models_bench.py [--models linear,minilm,cascade] [--n 1000] [--threads 2]

Texts are real comments: the held-out test split written by `civil models prepare-data`
(var/toxicity-data/test.jsonl), falling back to a small built-in set.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FALLBACK = [
    "Thanks for the thorough reporting on the council vote.",
    "You are an absolute idiot and should stop writing.",
    "I disagree with the mayor, but the bike lanes are a reasonable compromise.",
    "Go back to where you came from, nobody wants you here.",
    "What time does the consultation close?",
]


def texts(n: int) -> list[str]:
    path = ROOT / "var" / "toxicity-data" / "test.jsonl"
    if path.exists():
        rows = [json.loads(line)["text"] for line in path.open()]
        return (rows * (n // max(len(rows), 1) + 1))[:n]
    return (FALLBACK * (n // len(FALLBACK) + 1))[:n]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bench(spec: str, sample: list[str], single: int, batch: int) -> dict:
    from workers.scorers import load_scorer

    started = time.perf_counter()
    scorer = load_scorer(spec, ROOT / "models", batch)
    load_s = time.perf_counter() - started
    scorer.score_batch(sample[:8])  # warm up
    per_comment = []
    for text in sample[:single]:
        t0 = time.perf_counter()
        scorer.score_batch([text])
        per_comment.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    for i in range(0, len(sample), batch):
        scorer.score_batch(sample[i : i + batch])
    batched_s = time.perf_counter() - t0
    return {
        "model": scorer.name,
        "load_s": round(load_s, 2),
        "single_per_s": round(1000 / statistics.mean(per_comment), 1),
        "single_p50_ms": round(pct(per_comment, 50), 2),
        "single_p95_ms": round(pct(per_comment, 95), 2),
        f"batched{batch}_per_s": round(len(sample) / batched_s, 1),
        "texts": len(sample),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="linear,minilm,cascade")
    parser.add_argument("--n", type=int, default=1000, help="texts for the batched run")
    parser.add_argument("--single", type=int, default=200, help="texts scored one at a time")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "2")))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    sample = texts(args.n)
    for spec in args.models.split(","):
        result = bench(spec.strip(), sample, args.single, args.batch)
        print(json.dumps({"spec": spec, "threads": args.threads, **result}))


if __name__ == "__main__":
    main()
