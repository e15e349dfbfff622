"""Load the shared toxicity sets, map them to Detoxify's six labels, deduplicate and split.

Only training and evaluation scripts call this; the service never reads the shared data.

Label mapping (``None`` = the source says nothing about that label, so it is masked):

- ``jigsaw-6label``: all six (``toxic, severe_toxic, obscene, threat, insult, identity_hate``).
- ``jigsaw-binary`` (khanhhk first 20k Jigsaw rows, RobTest), ``wikipedia-context``
  (``label``; ``cat_small`` uses ``label_oc``, judged without the parent as we score) and
  ``civil-comments``: ``toxicity`` only.
- ``toxic-spans``: every post is a toxic Civil Comments post (``toxicity=1``). A span type
  (Insult, Profane/Obscene, Threat, Identity based Attack) typed by at least half of the post's
  annotators makes that label 1; a type no annotator used, on a post where at least half of
  them marked spans, makes it 0; anything in between stays ``None``.
- ``davidson``: hate speech (class 0) -> ``toxicity=1, identity_attack=1`` (its definition is
  hatred against a group by identity); offensive (1) -> ``toxicity=1, identity_attack=0`` (the
  raters chose "offensive" over "hate"); neither (2) -> ``toxicity=0, identity_attack=0``.
- ``olid``: OFF/NOT -> ``toxicity``; level B ``UNT`` (untargeted profanity) -> ``obscene=1``.
- ``germeval`` (German): OFFENSE/OTHER -> ``toxicity``; INSULT -> ``insult=1``; PROFANITY ->
  ``obscene=1``; ABUSE adds nothing (it mixes identity attacks with other degradation).

The ``wikipedia-bias`` sets are the identity-term bias test: never trained on, and any text
they contain is dropped from the other sets.

Texts are deduplicated across all sets by a normalised-text hash before splitting; duplicate
rows are merged label by label, the earlier (more trusted) source winning a conflict. The
held-out test and the validation split are carved from Jigsaw rows: six-label rows stratified
by their rarest positive label, plus a slice of binary Jigsaw rows. Assignment is by hash of
the normalised text, so it is deterministic and stable when other sets change.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import html
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.dataset import read_dataset

LABELS = TOXICITY_LABELS
# This file is civil/toxicity/training/data.py: parents[3] is the repository, and the shared data
# sits beside it.
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_ROOT = REPO_ROOT.parent / "shared" / "data" / "toxicity"
DEFAULT_OUT = REPO_ROOT / "var" / "toxicity-data"
SPLITS = ("train", "valid", "test")
JIGSAW6 = "jigsaw-6label"
JIGSAW_BINARY = "jigsaw-binary"
# Source order is merge priority: a duplicate takes its labels from the first source first.
SOURCE_ORDER = (
    JIGSAW6,
    JIGSAW_BINARY,
    "wikipedia-context",
    "civil-comments",
    "toxic-spans",
    "davidson",
    "olid",
    "germeval",
)
# Out of every 20 hash buckets: how many go to test and to valid (the rest train).
JIGSAW6_TEST, JIGSAW6_VALID = 5, 3
JIGSAW_BINARY_TEST, JIGSAW_BINARY_VALID = 2, 2
OTHER_VALID = 1
# Official Jigsaw test rows (lowercased): never trained or tuned on, always test, and written
# on their own as test_official.csv, the figure the ranking goal is measured on.
OFFICIAL_TEST_FILE = "ibm_max_test_examples.csv"
# Rarest label first: a six-label row is stratified by the first label it is positive for.
RARITY = ("threat", "severe_toxicity", "identity_attack", "insult", "obscene", "toxicity")
# Jigsaw's column for each of our labels, and its text column.
JIGSAW_COLUMNS = {
    "toxicity": "toxic",
    "severe_toxicity": "severe_toxic",
    "obscene": "obscene",
    "threat": "threat",
    "insult": "insult",
    "identity_attack": "identity_hate",
}
TEXT_COLUMN = "comment_text"
SPAN_TYPES = {
    "Insult": "insult",
    "Profane/Obscene": "obscene",
    "Threat": "threat",
    "Identity based Attack": "identity_attack",
}
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
_NON_WORD = re.compile(r"[\W_]+")

Labels = dict[str, int | None]


@dataclass
class Row:
    """One labelled text; ``labels`` holds 0, 1 or None (unknown) for each of the six."""

    text: str
    labels: Labels
    source: str
    lang: str = "en"
    merged_from: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Serialise as one JSONL line."""
        record = {
            "text": self.text,
            "labels": self.labels,
            "source": self.source,
            "lang": self.lang,
        }
        return json.dumps(record, ensure_ascii=False)

    def known(self, label: str) -> bool:
        """Whether the row says anything about ``label``."""
        return self.labels.get(label) is not None


def empty_labels(**known: int | None) -> Labels:
    """Six masked labels with the given ones filled in."""
    unknown = set(known) - set(LABELS)
    if unknown:
        raise ValueError(f"unknown labels {sorted(unknown)}")
    return {label: known.get(label) for label in LABELS}


def dedup_key(text: str) -> str:
    """Hash of the text with case, width, invisible characters and punctuation removed."""
    folded = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    return hashlib.sha1(
        _NON_WORD.sub(" ", folded).strip().encode(), usedforsecurity=False
    ).hexdigest()


def read_jsonl(path: Path) -> list[Row]:
    """Rows from a JSONL split written by ``prepare`` (read by ``read_dataset``)."""
    data = read_dataset(path)
    return [
        Row(
            text,
            {
                label: None if np.isnan(value) else int(value)
                for label, value in zip(LABELS, labels.tolist(), strict=True)
            },
            source,
            lang,
        )
        for text, labels, source, lang in zip(
            data.texts, data.labels, data.sources, data.langs, strict=True
        )
    ]


@contextlib.contextmanager
def _open_csv(path: Path, delimiter: str = ",") -> Iterator[csv.DictReader]:
    # Some sets hold comments longer than the csv module's default field limit.
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        yield csv.DictReader(handle, delimiter=delimiter)


def _read_csv(path: Path, delimiter: str = ",") -> Iterator[dict[str, str]]:
    with _open_csv(path, delimiter) as reader:
        yield from reader


def read_jigsaw_csv(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Texts and the label columns present (0/1 arrays, by our label) in a Jigsaw-format CSV."""
    with _open_csv(Path(path)) as reader:
        present = reader.fieldnames or ()
        if TEXT_COLUMN not in present:
            raise ValueError(f"{path}: no {TEXT_COLUMN} column")
        columns = {ours: theirs for ours, theirs in JIGSAW_COLUMNS.items() if theirs in present}
        records = list(reader)
    texts = [record[TEXT_COLUMN] for record in records]
    labels = {
        ours: np.array([_flag(record[theirs]) for record in records], dtype=int)
        for ours, theirs in columns.items()
    }
    return texts, labels


def _flag(value: str) -> int:
    return 1 if value.strip().lower() in {"1", "true", "1.0"} else 0


def load_jigsaw6(root: Path) -> Iterator[Row]:
    """Jigsaw rows with all six labels."""
    for path in sorted((root / "jigsaw-6label").glob("*.csv")):
        texts, columns = read_jigsaw_csv(path)
        for index, text in enumerate(texts):
            labels: Labels = {label: int(columns[label][index]) for label in JIGSAW_COLUMNS}
            yield Row(text, labels, JIGSAW6)


def load_jigsaw_binary(root: Path) -> Iterator[Row]:
    """Jigsaw rows labelled toxic or not."""
    for path in sorted((root / "jigsaw-binary").glob("*.csv")):
        for rec in _read_csv(path):
            text = rec.get("comment_text", rec.get("text", ""))
            flag = rec.get("labels", rec.get("label", ""))
            yield Row(text, empty_labels(toxicity=_flag(flag)), JIGSAW_BINARY)


def load_wikipedia_context(root: Path) -> Iterator[Row]:
    """Wikipedia talk comments; the out-of-context label where a set has both."""
    for path in sorted((root / "wikipedia-context").glob("*.csv")):
        for rec in _read_csv(path):
            flag = rec.get("label", rec.get("label_oc", ""))
            yield Row(rec["text"], empty_labels(toxicity=_flag(flag)), "wikipedia-context")


def load_civil_comments(root: Path) -> Iterator[Row]:
    """Civil Comments sample labelled toxic or not."""
    for rec in _read_csv(root / "civil-comments" / "sample.csv"):
        yield Row(rec["comment_text"], empty_labels(toxicity=_flag(rec["toxic"])), "civil-comments")


def load_toxic_spans(root: Path) -> Iterator[Row]:
    """Toxic Civil Comments posts with labels from their annotators' typed spans."""
    folder = root / "toxic-spans"
    tsd_texts = {
        rec["text"]
        for name in ("tsd_train", "tsd_trial", "tsd_test")
        for rec in _read_csv(folder / f"{name}.csv")
    }
    annotators: dict[str, set[str]] = defaultdict(set)
    annotation_comment = {}
    for rec in _read_csv(folder / "annotations.csv"):
        annotators[rec["comment_id"]].add(rec["annotation"])
        annotation_comment[rec["annotation"]] = rec["comment_id"]
    typed: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for rec in _read_csv(folder / "spans.csv"):
        comment = annotation_comment.get(rec["annotation"])
        if comment is not None:
            typed[comment][rec["type"]].add(rec["annotation"])
    for rec in _read_csv(folder / "comments.csv"):
        labels = _span_labels(len(annotators[rec["comment_id"]]), typed[rec["comment_id"]])
        if rec["comment_text"] in tsd_texts:
            labels["toxicity"] = 1
        if any(value is not None for value in labels.values()):
            yield Row(rec["comment_text"], labels, "toxic-spans")


def _span_labels(n_annotators: int, typed: dict[str, set[str]]) -> Labels:
    """Labels from how many annotators typed a span of each kind (see module docstring)."""
    marked = set().union(*typed.values()) if typed else set()
    if n_annotators == 0 or 2 * len(marked) < n_annotators:
        return empty_labels()
    labels = empty_labels(toxicity=1)
    for span_type, label in SPAN_TYPES.items():
        votes = len(typed.get(span_type, ()))
        if 2 * votes >= n_annotators:
            labels[label] = 1
        elif votes == 0:
            labels[label] = 0
    return labels


def load_davidson(root: Path) -> Iterator[Row]:
    """Davidson tweets: hate, offensive or neither."""
    for rec in _read_csv(root / "davidson-tweets" / "labeled_data.csv"):
        kind = rec["class"].strip()
        labels = empty_labels(
            toxicity=0 if kind == "2" else 1, identity_attack=1 if kind == "0" else 0
        )
        yield Row(html.unescape(rec["tweet"]), labels, "davidson")


def load_olid(root: Path) -> Iterator[Row]:
    """OLID tweets (training and test sets): offensive or not, untargeted profanity."""
    folder = root / "olid-tweets"
    for rec in _read_csv(folder / "olid-training-v1.0.tsv", delimiter="\t"):
        yield _olid_row(rec["tweet"], rec["subtask_a"], rec["subtask_b"])
    level_a = _olid_test_labels(folder / "labels-levela.csv")
    level_b = _olid_test_labels(folder / "labels-levelb.csv")
    for rec in _read_csv(folder / "testset-levela.tsv", delimiter="\t"):
        if rec["id"] in level_a:
            yield _olid_row(rec["tweet"], level_a[rec["id"]], level_b.get(rec["id"], "NULL"))


def _olid_test_labels(path: Path) -> dict[str, str]:
    # These files end lines with a bare carriage return.
    lines = path.read_text(encoding="utf-8-sig").splitlines()[1:]
    return dict(line.strip().split(",", 1) for line in lines if "," in line)


def _olid_row(tweet: str, level_a: str, level_b: str) -> Row:
    labels = empty_labels(toxicity=1 if level_a.strip() == "OFF" else 0)
    if level_b.strip() == "UNT":
        labels["obscene"] = 1
    return Row(html.unescape(tweet), labels, "olid")


def load_germeval(root: Path) -> Iterator[Row]:
    """German tweets: offensive or not, insult and profanity."""
    for path in sorted((root / "germeval2018-de").glob("germeval2018.*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) != 3:
                continue
            text, coarse, fine = parts
            labels = empty_labels(toxicity=1 if coarse == "OFFENSE" else 0)
            if fine == "INSULT":
                labels["insult"] = 1
            elif fine == "PROFANITY":
                labels["obscene"] = 1
            # Twitter line breaks are written as |LBR| in this set.
            yield Row(text.replace("|LBR|", "\n"), labels, "germeval", lang="de")


# Each source's folder and loader, in merge-priority order.
LOADERS = (
    ("jigsaw-6label", load_jigsaw6),
    ("jigsaw-binary", load_jigsaw_binary),
    ("wikipedia-context", load_wikipedia_context),
    ("civil-comments", load_civil_comments),
    ("toxic-spans", load_toxic_spans),
    ("davidson-tweets", load_davidson),
    ("olid-tweets", load_olid),
    ("germeval2018-de", load_germeval),
)


def load_bias_sets(root: Path = DEFAULT_ROOT) -> dict[str, list[tuple[str, int]]]:
    """The identity-term bias test: ``{"fuzzed"|"nonfuzzed": [(text, toxic)]}``."""
    sets = {}
    for name in ("fuzzed", "nonfuzzed"):
        path = root / "wikipedia-bias" / f"toxicity_{name}_testset.csv"
        sets[name] = [(rec["comment"], _flag(rec["toxic"])) for rec in _read_csv(path)]
    return sets


def load_all(root: Path = DEFAULT_ROOT) -> list[Row]:
    """Every training source's rows, in merge-priority order; absent sources are skipped."""
    return [
        row
        for folder, loader in LOADERS
        if (root / folder).is_dir()
        for row in loader(root)
        if row.text.strip()
    ]


def merge_duplicates(rows: Iterable[Row]) -> list[Row]:
    """One row per dedup key, labels merged label by label, the first source winning."""
    merged: dict[str, Row] = {}
    for row in rows:
        key = dedup_key(row.text)
        first = merged.get(key)
        if first is None:
            merged[key] = Row(row.text, dict(row.labels), row.source, row.lang, [row.source])
            continue
        first.merged_from.append(row.source)
        for label, value in row.labels.items():
            if first.labels[label] is None:
                first.labels[label] = value
    return list(merged.values())


def _bucket(row: Row) -> int:
    return int(dedup_key(row.text)[:8], 16) % 20


def _stratum(row: Row) -> str:
    return next((label for label in RARITY if row.labels[label] == 1), "clean")


def assign_split(row: Row) -> str:
    """The split a merged row belongs to (test and valid come only from Jigsaw)."""
    jigsaw = row.source in (JIGSAW6, JIGSAW_BINARY) or JIGSAW6 in row.merged_from
    if jigsaw and all(row.known(label) for label in LABELS):
        test, valid = JIGSAW6_TEST, JIGSAW6_VALID
    elif jigsaw:
        test, valid = JIGSAW_BINARY_TEST, JIGSAW_BINARY_VALID
    else:
        test, valid = 0, OTHER_VALID
    bucket = _bucket(row)
    return "test" if bucket < test else "valid" if bucket < test + valid else "train"


def split_rows(rows: list[Row], official: set[str] | None = None) -> dict[str, list[Row]]:
    """Split merged rows; six-label Jigsaw rows are stratified by their rarest positive label.

    Rows whose dedup key is in ``official`` (the official test rows) are then moved to test;
    every other row keeps the split it had without them (models trained on an earlier split
    stay clean on its test rows).
    """
    official = official or set()
    splits: dict[str, list[Row]] = {name: [] for name in SPLITS}
    six = [row for row in rows if row.source == JIGSAW6]
    for name, part in _stratified(six).items():
        splits[name] += part
    for row in rows:
        if row.source != JIGSAW6:
            splits[assign_split(row)].append(row)
    for name in ("train", "valid"):
        moved = [row for row in splits[name] if dedup_key(row.text) in official]
        splits[name] = [row for row in splits[name] if dedup_key(row.text) not in official]
        splits["test"] += moved
    return splits


def official_test_keys(root: Path) -> set[str]:
    """Dedup keys of the official Jigsaw test rows (empty when the file is absent)."""
    path = Path(root) / JIGSAW6 / OFFICIAL_TEST_FILE
    if not path.exists():
        return set()
    texts, _ = read_jigsaw_csv(path)
    return {dedup_key(text) for text in texts}


def _stratified(rows: list[Row]) -> dict[str, list[Row]]:
    """Deal each stratum, in hash order, into test/valid/train by the six-label proportions."""
    strata: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        strata[_stratum(row)].append(row)
    out: dict[str, list[Row]] = {name: [] for name in SPLITS}
    for members in strata.values():
        members.sort(key=lambda row: dedup_key(row.text))
        for i, row in enumerate(members):
            slot = i % 20
            name = (
                "test"
                if slot < JIGSAW6_TEST
                else "valid"
                if slot < JIGSAW6_TEST + JIGSAW6_VALID
                else "train"
            )
            out[name].append(row)
    return out


def summarise(splits: dict[str, list[Row]], dropped: dict[str, int]) -> dict:
    """Counts per split, source and label (positives / known)."""
    summary: dict = {"dropped": dropped, "splits": {}}
    for name, rows in splits.items():
        per_source = Counter(row.source for row in rows)
        labels = {
            label: {
                "known": sum(row.known(label) for row in rows),
                "positive": sum(row.labels[label] == 1 for row in rows),
            }
            for label in LABELS
        }
        summary["splits"][name] = {
            "rows": len(rows),
            "sources": dict(sorted(per_source.items())),
            "labels": labels,
        }
    return summary


def write_jigsaw_csv(rows: Iterable[Row], path: Path) -> int:
    """Write six-label rows as a Jigsaw-format CSV (for ``evaluate_csv``); return the count."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([TEXT_COLUMN, *JIGSAW_COLUMNS.values()])
        for row in rows:
            if all(row.known(label) for label in LABELS):
                writer.writerow([row.text, *(row.labels[label] for label in JIGSAW_COLUMNS)])
                count += 1
    return count


def prepare(out_dir: Path = DEFAULT_OUT, root: Path = DEFAULT_ROOT) -> dict:
    """Write the JSONL splits, a Jigsaw-format test CSV and splits.json; return the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = load_all(root)
    bias_keys = {dedup_key(text) for rows in load_bias_sets(root).values() for text, _ in rows}
    merged = merge_duplicates(raw)
    kept = [row for row in merged if dedup_key(row.text) not in bias_keys]
    dropped = {
        "raw_rows": len(raw),
        "duplicates_merged": len(raw) - len(merged),
        "in_bias_test": len(merged) - len(kept),
    }
    official = official_test_keys(root)
    splits = split_rows(kept, official)
    for name, rows in splits.items():
        with (out_dir / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(row.to_json() + "\n" for row in rows)
    summary = summarise(splits, dropped)
    summary["test_jigsaw6_csv_rows"] = write_jigsaw_csv(
        splits["test"], out_dir / "test_jigsaw6.csv"
    )
    # The test rows as they were before the official rows moved in: the shipped models trained
    # on 73 of those, so this file is the one every shipped model is clean on.
    summary["test_jigsaw6_unseen_csv_rows"] = write_jigsaw_csv(
        split_rows(kept)["test"], out_dir / "test_jigsaw6_unseen.csv"
    )
    summary["test_official_csv_rows"] = write_jigsaw_csv(
        (row for row in splits["test"] if dedup_key(row.text) in official),
        out_dir / "test_official.csv",
    )
    (out_dir / "splits.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    print(json.dumps(prepare(target)["splits"], indent=2))
