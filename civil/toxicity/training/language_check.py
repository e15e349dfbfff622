"""How often the language detector names the right language, by language and comment length.

Texts: the multilingual model's held-out test rows (language known from the source) and the
English held-out test rows of the prepared toxicity data. A text counts as routed correctly when
the detector names its language, or, for English, says ``und`` (which also goes to the English
models). ``python -m civil.toxicity.training.language_check [SHARED_TOXICITY_DIR] [DATA_DIR]``
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from civil.textnorm import normalize_text
from civil.toxicity.language import UNDETERMINED, LanguageDetector
from civil.toxicity.training.data import DEFAULT_OUT, DEFAULT_ROOT, read_jsonl
from civil.toxicity.training.multilingual import load_examples

PER_LANGUAGE = 400
BUCKETS = ((0, 40), (40, 100), (100, 10**9))


def main(root: Path = DEFAULT_ROOT, data_dir: Path = DEFAULT_OUT) -> dict:
    rng = random.Random(0)  # noqa: S311 - a reproducible sample, not a secret
    texts: dict[str, list[str]] = {}
    for text, _, lang, part in load_examples(root):
        if part == "test":
            texts.setdefault(lang, []).append(text)
    texts["en"] = [row.text for row in read_jsonl(data_dir / "test.jsonl") if row.lang == "en"]
    detector = LanguageDetector()
    began = time.perf_counter()
    detector.detect("warm up the detector with a sentence")
    load = time.perf_counter() - began
    report: dict = {"load_seconds": round(load, 2), "by_language": {}}
    n, spent = 0, 0.0
    for lang, pool in sorted(texts.items()):
        sample = rng.sample(pool, min(PER_LANGUAGE, len(pool)))
        stats = {f"{lo}-{hi if hi < 10**9 else ''}": [0, 0, 0] for lo, hi in BUCKETS}
        for text in sample:
            clean = normalize_text(text)
            began = time.perf_counter()
            found = detector.detect(clean).language
            spent += time.perf_counter() - began
            n += 1
            key = next(
                k for (lo, hi), k in zip(BUCKETS, stats, strict=True) if lo <= len(text) < hi
            )
            ok = found == lang or (lang == "en" and found == UNDETERMINED)
            stats[key][0] += 1
            stats[key][1] += ok
            stats[key][2] += found == UNDETERMINED
        report["by_language"][lang] = {
            key: {"n": total, "routed_right": round(right / total, 3), "und": round(und / total, 3)}
            for key, (total, right, und) in stats.items()
            if total
        }
    report["texts_per_second"] = round(n / spent, 1)
    return report


if __name__ == "__main__":
    out = main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ROOT,
        Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_OUT,
    )
    print(json.dumps(out, indent=1))
