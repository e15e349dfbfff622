"""How the threat grammar (``civil.toxicity.threats``) does on real comments.

``python -m civil.toxicity.training.threat_rules var/toxicity-data [../shared/data/toxicity]``

Reads the prepared validation and test splits (every source) and prints, per source:
how often the rules fire on rows whose ``threat`` label is 0 (and on rows that are not toxic at
all), and how many labelled threats they find. With the shared folder it also reads the
Implicit Hate corpus's ``threatening`` posts (a source no Civil model trains on) for recall.
Examples of both kinds of error are printed so a reader can judge them.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

from civil.toxicity.threats import find

SPLITS = ("valid.jsonl", "test.jsonl")


def _rows(data_dir: Path) -> list[dict]:
    rows = []
    for name in SPLITS:
        with (data_dir / name).open(encoding="utf-8") as handle:
            rows += [json.loads(line) for line in handle]
    return [row for row in rows if row.get("lang", "en") == "en"]


def split_report(data_dir: Path, examples: int = 8) -> dict:
    """Fires on non-threats and finds among threats, per source, over valid + test."""
    fired: Counter[str] = Counter()
    clean: Counter[str] = Counter()
    fired_clean: Counter[str] = Counter()
    negatives: Counter[str] = Counter()
    positives: Counter[str] = Counter()
    found: Counter[str] = Counter()
    false_examples: list[str] = []
    missed_examples: list[str] = []
    for row in _rows(data_dir):
        source, labels = row["source"], row["labels"]
        hit = bool(find(row["text"]))
        threat = labels.get("threat")
        if labels.get("toxicity") == 0:
            clean[source] += 1
            fired_clean[source] += hit
        if threat == 1:
            positives[source] += 1
            found[source] += hit
            if not hit and len(missed_examples) < examples:
                missed_examples.append(row["text"][:160])
        elif threat == 0 or labels.get("toxicity") == 0:
            negatives[source] += 1
            fired[source] += hit
            if hit and len(false_examples) < examples:
                false_examples.append(row["text"][:200])
    by_source = {
        source: {
            "non_threat_rows": negatives[source],
            "fired_on_non_threat": fired[source],
            "clean_rows": clean[source],
            "fired_on_clean": fired_clean[source],
            "threats": positives[source],
            "threats_found": found[source],
        }
        for source in sorted(negatives | positives)
    }
    total_neg, total_fired = sum(negatives.values()), sum(fired.values())
    total_pos, total_found = sum(positives.values()), sum(found.values())
    return {
        "by_source": by_source,
        "fire_rate_on_non_threats": round(total_fired / max(1, total_neg), 5),
        "fire_rate_on_clean": round(sum(fired_clean.values()) / max(1, sum(clean.values())), 5),
        "recall_on_labelled_threats": round(total_found / max(1, total_pos), 3),
        "false_fire_examples": false_examples,
        "missed_examples": missed_examples,
    }


def implicit_hate_report(shared: Path, examples: int = 8) -> dict:
    """Recall on the Implicit Hate corpus's threatening / incitement posts, fires on not_hate."""
    folder = shared / "english-implicit-hate"
    stage2 = next(folder.rglob("*implicit_hate_v1_stg2_posts.tsv"), None)
    stage1 = next(folder.rglob("*implicit_hate_v1_stg1_posts.tsv"), None)
    report: dict = {}
    if stage2 is not None:
        kinds: Counter[str] = Counter()
        hits: Counter[str] = Counter()
        missed: list[str] = []
        with stage2.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                kind = row.get("implicit_class", "")
                if kind not in ("threatening", "incitement"):
                    continue
                kinds[kind] += 1
                hit = bool(find(row["post"]))
                hits[kind] += hit
                if kind == "threatening" and not hit and len(missed) < examples:
                    missed.append(row["post"][:160])
        report["recall"] = {k: round(hits[k] / kinds[k], 3) for k in kinds}
        report["n"] = dict(kinds)
        report["missed_threatening_examples"] = missed
    if stage1 is not None:
        n = fired = 0
        with stage1.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                if row.get("class") == "not_hate":
                    n += 1
                    fired += bool(find(row["post"]))
        report["fire_rate_on_not_hate"] = round(fired / max(1, n), 5)
        report["not_hate_rows"] = n
    return report


def main(argv: list[str]) -> None:
    data_dir = Path(argv[0] if argv else "var/toxicity-data")
    report = {"splits": split_report(data_dir)}
    if len(argv) > 1:
        report["implicit_hate"] = implicit_hate_report(Path(argv[1]))
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
