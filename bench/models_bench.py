"""Toxicity model speed: comments/s single and batched, p50/p95 ms per comment, load time.

    python bench/models_bench.py [--models linear,minilm,cascade] [--n 1000] [--threads 1]
    python bench/models_bench.py --procs 2 --models cascade,cascade-int8   # two cores

Texts are real comments: the 753 held-out Jigsaw six-label rows written by
`civil models prepare-data` (var/toxicity-data/test_jigsaw6_unseen.csv), else the whole test split,
else a small built-in set; `--texts short` uses only those of at most 300 characters (the
length of a typical news-site comment).

Every figure is given twice: per wall-clock second, and per CPU second of the scoring process
(`time.process_time`). On a quiet machine they agree; when other jobs share the cores the wall
figure drops and the CPU figure is the one to read (it counts only this process's own work).
With `--procs N`, N processes (one torch thread each, like N worker processes) score
interleaved shares of the texts at the same time; "N cores" throughput = texts / the slowest
process's wall time, and the CPU estimate = texts / (total CPU seconds / N).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "var" / "toxicity-data"
FALLBACK = [
    "Thanks for the thorough reporting on the council vote.",
    "You are an absolute idiot and should stop writing.",
    "I disagree with the mayor, but the bike lanes are a reasonable compromise.",
    "Go back to where you came from, nobody wants you here.",
    "What time does the consultation close?",
]
SHORT_CHARS = 300


def real_texts() -> tuple[str, list[str]]:
    # The project's one reader per format (the Jigsaw CSV, the JSONL splits).
    from civil.toxicity.dataset import read_dataset
    from civil.toxicity.training.data import read_jigsaw_csv

    # The held-out rows every shipped model is clean on, else the whole six-label test file.
    for name in ("test_jigsaw6_unseen.csv", "test_jigsaw6.csv"):
        jigsaw = DATA / name
        if jigsaw.exists():
            return jigsaw.name, read_jigsaw_csv(jigsaw)[0]
    split = DATA / "test.jsonl"
    if split.exists():
        return split.name, list(read_dataset(split).texts)
    return "built-in", list(FALLBACK)


def texts(n: int, kind: str) -> tuple[str, list[str]]:
    source, rows = real_texts()
    if kind == "short":
        rows = [text for text in rows if len(text) <= SHORT_CHARS] or rows
        source += f" (<= {SHORT_CHARS} chars)"
    return source, (rows * (n // max(len(rows), 1) + 1))[:n]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _load(spec: str, batch: int, threads: int) -> tuple[object, float]:
    import torch

    torch.set_num_threads(threads)
    from civil.toxicity.loader import load_scorer

    started = time.perf_counter()
    scorer = load_scorer(spec, ROOT / "models", batch)
    return scorer, time.perf_counter() - started


def _batched(scorer: object, sample: list[str], batch: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(sample), batch):
        scorer.score_batch(sample[i : i + batch])  # type: ignore[attr-defined]
    return time.perf_counter() - wall, time.process_time() - cpu


def bench(spec: str, sample: list[str], single: int, batch: int, threads: int) -> dict:
    scorer, load_s = _load(spec, batch, threads)
    scorer.score_batch(sample[:8])  # type: ignore[attr-defined]  # warm up
    per_comment = []
    cpu = time.process_time()
    for text in sample[:single]:
        t0 = time.perf_counter()
        scorer.score_batch([text])  # type: ignore[attr-defined]
        per_comment.append((time.perf_counter() - t0) * 1000)
    single_cpu = time.process_time() - cpu
    wall_s, cpu_s = _batched(scorer, sample, batch)
    return {
        "model": scorer.name,  # type: ignore[attr-defined]
        "load_s": round(load_s, 2),
        "single_per_s": round(1000 / statistics.mean(per_comment), 1),
        "single_per_cpu_s": round(len(per_comment) / max(single_cpu, 1e-9), 1),
        "single_p50_ms": round(pct(per_comment, 50), 2),
        "single_p95_ms": round(pct(per_comment, 95), 2),
        f"batched{batch}_per_s": round(len(sample) / wall_s, 1),
        f"batched{batch}_per_cpu_s": round(len(sample) / max(cpu_s, 1e-9), 1),
        "texts": len(sample),
    }


def _worker(spec: str, share: list[str], batch: int, start: object, out: object) -> None:
    scorer, _ = _load(spec, batch, 1)
    scorer.score_batch(share[:8])  # type: ignore[attr-defined]
    start.wait()  # type: ignore[attr-defined]  # every process begins together
    out.put(_batched(scorer, share, batch))  # type: ignore[attr-defined]


def bench_procs(spec: str, sample: list[str], batch: int, procs: int) -> dict:
    context = mp.get_context("spawn")
    start, out = context.Barrier(procs + 1), context.Queue()
    workers = [
        context.Process(target=_worker, args=(spec, sample[i::procs], batch, start, out))
        for i in range(procs)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    results = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    wall = max(wall for wall, _ in results)
    cpu = sum(cpu for _, cpu in results)
    return {
        "procs": procs,
        f"batched{batch}_per_s": round(len(sample) / wall, 1),
        f"batched{batch}_per_cpu_estimate": round(len(sample) / (cpu / procs), 1),
        "texts": len(sample),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="linear,cascade,cascade-int8,minilm")
    parser.add_argument("--n", type=int, default=753, help="texts for the batched run")
    parser.add_argument("--single", type=int, default=200, help="texts scored one at a time")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "1")))
    parser.add_argument("--procs", type=int, default=0, help="N processes at once (N cores)")
    parser.add_argument("--texts", choices=("real", "short"), default="real")
    args = parser.parse_args()
    source, sample = texts(args.n, args.texts)
    print(json.dumps({"texts_from": source, "load_average": os.getloadavg()[0]}))
    for spec in args.models.split(","):
        if args.procs:
            result = bench_procs(spec.strip(), sample, args.batch, args.procs)
        else:
            result = bench(spec.strip(), sample, args.single, args.batch, args.threads)
            result["threads"] = args.threads
        print(json.dumps({"spec": spec, **result}), flush=True)


if __name__ == "__main__":
    main()
