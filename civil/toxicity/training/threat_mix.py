"""Stage-3 data for MiniLM: threat and identity-attack signal added to the prepared splits.

Two extra sources, read from the shared toxicity data (training only):

- **Implicit Hate** (``english-implicit-hate``, ElSherief et al. 2021, CC BY 4.0). Stage 1
  classes every post ``not_hate`` / ``implicit_hate`` / ``explicit_hate``; stage 2 types the
  implicit ones (``threatening``, ``incitement``, ``white_grievance``, ...; a primary and an
  optional extra type). Labels (a label not named stays unknown, masked in the loss):

  ============================  =========  ================  ======  ==========================
  post                          toxicity   identity_attack   threat  source
  ============================  =========  ================  ======  ==========================
  ``not_hate``                  0          0                 0       ``implicit-hate``
  ``explicit_hate``             1          1                 ?       ``implicit-hate``
  implicit, ``threatening``     1          1                 1       ``implicit-hate-threat``
  implicit, ``incitement``      1          1                 1       ``implicit-hate-incitement``
  implicit, other type          ?          1                 0       ``implicit-hate``
  implicit, no stage-2 type     ?          1                 ?       ``implicit-hate``
  ============================  =========  ================  ======  ==========================

  Implicit hate (dog whistles, "white grievance", irony) is hate against a group by
  definition, but not necessarily rude, so its ``toxicity`` is left unknown. ``not_hate``
  posts talk about the same groups without attacking them: they are the negatives that keep
  "names a group" from meaning "attacks it". Incitement is its own source so that training can
  cap it lower than the threats (``--source-caps``). A post classed differently by two stage-1
  rows is dropped.

- **Toxic-spans threat sentences** (``toxic-spans``, CC0): the sentence holding a ``Threat``
  span two annotators agreed on (threat and toxicity 1), and threat-free sentences of posts
  nobody marked a threat in (threat 0), from ``threat.threat_span_examples``.

Every extra row is deduplicated (normalised-text hash) against the prepared train/valid/test
splits, the identity-bias test and Civil's functional-suite templates (never trained on),
and split 80/10/10 by hash: Implicit Hate posts by their text (the same split as the linear
model's threat attempt in ``threat.py``), span sentences by their post, so sentences of one
post never straddle train and test. The test tenth is written apart (``extra_test.jsonl``) and
only reported on.

``build`` writes a data folder the MiniLM trainer reads like a prepared one: ``train.jsonl``
and ``valid.jsonl`` are the prepared splits plus the extra rows, ``test.jsonl`` (and
``test_jigsaw6.csv`` / ``test_official.csv``) the prepared test unchanged::

    python -m civil.toxicity.training.threat_mix build --data-dir var/toxicity-data \\
        --out var/toxicity-data-stage3
    python -m civil.toxicity.training.threat_mix report --data-dir var/toxicity-data-stage3 \\
        --model minilm --model-dir models
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from civil.toxicity.training import functional
from civil.toxicity.training.data import (
    DEFAULT_OUT,
    DEFAULT_ROOT,
    LABELS,
    SPLITS,
    Row,
    dedup_key,
    empty_labels,
    load_bias_sets,
)
from civil.toxicity.training.threat import _bucket, threat_span_examples

FOLDER = "english-implicit-hate"
PREFIX = "implicit-hate-corpus__implicit_hate_v1_"
IH = "implicit-hate"
IH_THREAT = "implicit-hate-threat"
IH_INCITEMENT = "implicit-hate-incitement"
SPANS = "toxic-spans-threat"
EXTRA_SOURCES = (IH, IH_THREAT, IH_INCITEMENT, SPANS)
DEFAULT_STAGE3 = DEFAULT_OUT.parent / "toxicity-data-stage3"
# Copied from the prepared folder as they are (the held-out test is never changed).
UNCHANGED = ("test.jsonl", "test_jigsaw6.csv", "test_official.csv")

_QUOTES = re.compile(r'"(\s*")+')
_SPACES = re.compile(r"\s+")


def clean_post(text: str) -> str:
    """A corpus post without its export artefacts (runs of ``" " "``, padding, edge quotes).

    The words, their order and case are kept, so the dedup key (which ignores punctuation and
    spacing) is that of the raw post.
    """
    text = _SPACES.sub(" ", _QUOTES.sub('"', text)).strip()
    text = text.strip('" ').lstrip(":").strip('" ')
    return text


def _read_tsv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def implicit_hate_rows(root: Path) -> list[Row]:
    """Implicit Hate posts with the labels of the module's table, one row per dedup key."""
    folder = Path(root) / FOLDER
    classes: dict[str, set[str]] = defaultdict(set)
    texts: dict[str, str] = {}
    for record in _read_tsv(folder / f"{PREFIX}stg1_posts.tsv"):
        text = clean_post(record.get("post") or "")
        kind = (record.get("class") or "").strip()
        if text and kind:
            key = dedup_key(text)
            classes[key].add(kind)
            texts.setdefault(key, text)
    types: dict[str, set[str]] = defaultdict(set)
    for record in _read_tsv(folder / f"{PREFIX}stg2_posts.tsv"):
        key = dedup_key(clean_post(record.get("post") or ""))
        for column in ("implicit_class", "extra_implicit_class"):
            kind = (record.get(column) or "").strip()
            if kind:
                types[key].add(kind)
    rows = []
    for key, kinds in classes.items():
        if len(kinds) != 1:
            continue  # annotators' classes disagree: ambiguous, dropped
        (kind,) = kinds
        labels, source = _implicit_hate_labels(kind, types.get(key, set()))
        if labels is not None:
            rows.append(Row(texts[key], labels, source))
    return rows


def _implicit_hate_labels(kind: str, types: set[str]) -> tuple[dict | None, str]:
    if kind == "not_hate":
        return empty_labels(toxicity=0, identity_attack=0, threat=0), IH
    if kind == "explicit_hate":
        return empty_labels(toxicity=1, identity_attack=1), IH
    if kind != "implicit_hate":
        return None, IH
    if "threatening" in types:
        return empty_labels(toxicity=1, identity_attack=1, threat=1), IH_THREAT
    if "incitement" in types:
        return empty_labels(toxicity=1, identity_attack=1, threat=1), IH_INCITEMENT
    if types:
        return empty_labels(identity_attack=1, threat=0), IH
    return empty_labels(identity_attack=1), IH


def extra_rows(root: Path) -> list[tuple[Row, str]]:
    """Every extra row with its split (``train`` / ``valid`` / ``test``), before deduplication."""
    out = [(row, _bucket(dedup_key(row.text))) for row in implicit_hate_rows(root)]
    out += [(row, _bucket(f"{SPANS}:{post}")) for row, post in threat_span_examples(Path(root))]
    return out


def _prepared_keys(data_dir: Path) -> set[str]:
    keys: set[str] = set()
    for name in SPLITS:
        with (Path(data_dir) / f"{name}.jsonl").open(encoding="utf-8") as handle:
            keys.update(dedup_key(json.loads(line)["text"]) for line in handle if line.strip())
    return keys


def excluded_keys(data_dir: Path, root: Path) -> dict[str, set[str]]:
    """Keys extra rows must not have: prepared rows, the bias test, the functional suite."""
    bias = Path(root) / "wikipedia-bias"
    return {
        "prepared": _prepared_keys(data_dir),
        "bias_test": {dedup_key(t) for rows in load_bias_sets(root).values() for t, _ in rows}
        if bias.is_dir()
        else set(),
        "functional_suite": {dedup_key(case.text) for case in functional.cases()},
    }


def split_extra(data_dir: Path, root: Path) -> tuple[dict[str, list[Row]], dict[str, int]]:
    """The extra rows by split, deduplicated; and how many were dropped, by reason."""
    excluded = excluded_keys(data_dir, root)
    dropped: Counter[str] = Counter()
    seen: set[str] = set()
    splits: dict[str, list[Row]] = {name: [] for name in SPLITS}
    for row, split in extra_rows(root):
        key = dedup_key(row.text)
        reason = next((name for name, keys in excluded.items() if key in keys), None)
        if reason is None and key in seen:
            reason = "duplicate"
        if reason is not None:
            dropped[reason] += 1
            continue
        seen.add(key)
        splits[split].append(row)
    return splits, dict(dropped)


def _counts(rows: Sequence[Row]) -> dict[str, Any]:
    per_source: dict[str, Any] = {}
    for source in sorted({row.source for row in rows}):
        mine = [row for row in rows if row.source == source]
        per_source[source] = {
            "rows": len(mine),
            "positive": {
                label: sum(row.labels[label] == 1 for row in mine)
                for label in LABELS
                if any(row.known(label) for row in mine)
            },
            "known": {
                label: sum(row.known(label) for row in mine)
                for label in LABELS
                if any(row.known(label) for row in mine)
            },
        }
    return per_source


def build(data_dir: Path, out_dir: Path, root: Path = DEFAULT_ROOT) -> dict[str, Any]:
    """Write the stage-3 data folder (see the module docstring); return its summary."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if out_dir.resolve() == data_dir.resolve():
        raise ValueError("the stage-3 folder must not be the prepared folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    extra, dropped = split_extra(data_dir, root)
    for name in ("train", "valid"):
        with (out_dir / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            with (data_dir / f"{name}.jsonl").open(encoding="utf-8") as prepared:
                shutil.copyfileobj(prepared, handle)
            handle.writelines(row.to_json() + "\n" for row in extra[name])
    for name in UNCHANGED:
        if (data_dir / name).exists():
            shutil.copyfile(data_dir / name, out_dir / name)
    for name, rows in extra.items():
        with (out_dir / f"extra_{name}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(row.to_json() + "\n" for row in rows)
    summary = {
        "prepared_from": str(data_dir),
        "dropped": dropped,
        "extra": {name: {"rows": len(rows), **_counts(rows)} for name, rows in extra.items()},
    }
    (out_dir / "stage3.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    from civil.toxicity.metrics import roc_auc_or_nan

    known = ~np.isnan(y)
    if known.sum() == 0 or len(set(y[known].tolist())) < 2:
        return None
    return round(float(roc_auc_or_nan(y[known], s[known])), 4)


def report(scorer: Any, path: Path) -> dict[str, Any]:
    """ROC-AUC of ``scorer`` on held-out extra rows, per label and per source group.

    ``threat, implicit-hate`` counts threatening and incitement posts as positives;
    ``threat, threatening only`` drops the incitement posts.
    """
    from civil.decision.policy import DEFAULT_HOLD
    from civil.toxicity.dataset import read_dataset
    from civil.toxicity.training.evaluate import score_texts

    data = read_dataset(Path(path))
    scores = score_texts(scorer, data.texts)
    sources = np.asarray(data.sources, dtype=object)
    ih = np.isin(sources, [IH, IH_THREAT, IH_INCITEMENT])
    spans = sources == SPANS
    threat, identity, toxicity = (
        LABELS.index(k) for k in ("threat", "identity_attack", "toxicity")
    )
    y, s = data.labels, scores
    hold = np.array([DEFAULT_HOLD[label] for label in LABELS])
    no_incitement = ih & (sources != IH_INCITEMENT)
    # Implicit Hate's not_hate posts: benign talk about the same groups.
    benign = (sources == IH) & (y[:, toxicity] == 0)
    return {
        "rows": len(data),
        "threat_positives": {
            "implicit_hate": int(np.nansum(y[ih, threat])),
            "toxic_spans": int(np.nansum(y[spans, threat])),
        },
        "auc": {
            "threat, implicit-hate": _auc(y[ih, threat], s[ih, threat]),
            "threat, threatening only": _auc(y[no_incitement, threat], s[no_incitement, threat]),
            "threat, toxic-spans sentences": _auc(y[spans, threat], s[spans, threat]),
            "threat, all": _auc(y[:, threat], s[:, threat]),
            "identity_attack, implicit-hate": _auc(y[ih, identity], s[ih, identity]),
            "toxicity, implicit-hate": _auc(y[ih, toxicity], s[ih, toxicity]),
        },
        "not_hate_rows": int(benign.sum()),
        # Share of them at or above some label's default hold threshold (would be held).
        "not_hate_flagged": round(float((s[benign] >= hold).any(axis=1).mean()), 4)
        if benign.any()
        else None,
        "not_hate_mean_score": {
            LABELS[j]: round(float(s[benign, j].mean()), 4) if benign.any() else None
            for j in (toxicity, threat, identity)
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m civil.toxicity.training.threat_mix", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="write the stage-3 data folder")
    make.add_argument("--data-dir", type=Path, default=DEFAULT_OUT, help="prepared splits")
    make.add_argument("--out", type=Path, default=DEFAULT_STAGE3)
    make.add_argument("--shared", type=Path, default=DEFAULT_ROOT)
    show = commands.add_parser("report", help="threat / identity AUC on the held-out extra rows")
    show.add_argument("--data-dir", type=Path, default=DEFAULT_STAGE3)
    show.add_argument("--model", default="minilm")
    show.add_argument("--model-dir", type=Path, default=None)
    show.add_argument("--split", default="test", choices=SPLITS)
    args = parser.parse_args(argv)
    if args.command == "build":
        print(json.dumps(build(args.data_dir, args.out, args.shared), indent=2))
        return 0
    from civil.settings import Settings
    from civil.toxicity.loader import load_scorer

    model_dir = args.model_dir or Settings.from_env().model_dir
    scorer = load_scorer(args.model, model_dir)
    result = report(scorer, args.data_dir / f"extra_{args.split}.jsonl")
    print(json.dumps({"model": scorer.name, "split": args.split, **result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
