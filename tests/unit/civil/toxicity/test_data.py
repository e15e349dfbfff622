import csv
import json
from pathlib import Path

import numpy as np
import pytest

from civil.toxicity.training import data
from civil.toxicity.training.data import LABELS, Row, dedup_key, empty_labels, merge_duplicates


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A miniature copy of the shared toxicity layout."""
    root = tmp_path / "toxicity"
    six = [
        "id",
        "comment_text",
        "toxic",
        "severe_toxic",
        "obscene",
        "threat",
        "insult",
        "identity_hate",
    ]
    six_rows = [
        [f"id{i}", f"wiki comment number {i}", i % 5 == 0, 0, 0, i == 5, 0, 0] for i in range(40)
    ]
    _write_csv(
        root / "jigsaw-6label" / "a.csv",
        six,
        [[r[0], r[1], int(r[2]), *r[3:5], int(r[5]), *r[6:]] for r in six_rows],
    )
    _write_csv(
        root / "jigsaw-binary" / "b.csv",
        ["comment_text", "labels"],
        [["WIKI comment number 1!!", 1], ["another binary row", 0]],
    )
    _write_csv(
        root / "davidson-tweets" / "labeled_data.csv",
        ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"],
        [
            [0, 3, 3, 0, 0, 0, "hateful tweet &amp; more"],
            [1, 3, 0, 3, 0, 1, "rude tweet"],
            [2, 3, 0, 0, 3, 2, "nice tweet"],
        ],
    )
    _write_csv(
        root / "wikipedia-bias" / "toxicity_fuzzed_testset.csv",
        ["rev_id", "comment", "toxic"],
        [[1, "a bias test comment", "False"]],
    )
    _write_csv(
        root / "wikipedia-bias" / "toxicity_nonfuzzed_testset.csv",
        ["rev_id", "comment", "toxic"],
        [[1, "another binary row", "False"]],
    )
    return root


def test_unknown_labels_stay_none():
    labels = empty_labels(toxicity=1)
    assert labels == {"toxicity": 1, **dict.fromkeys(LABELS[1:])}


def test_duplicates_merge_label_by_label_first_source_wins():
    first = Row("You idiot!", empty_labels(toxicity=1, insult=None), "jigsaw-6label")
    second = Row("you   IDIOT", empty_labels(toxicity=0, insult=1), "olid")
    (merged,) = merge_duplicates([first, second])
    assert merged.labels["toxicity"] == 1  # the earlier source wins a conflict
    assert merged.labels["insult"] == 1  # filled from the later source
    assert merged.labels["threat"] is None
    assert dedup_key("You idiot!") == dedup_key("you\u200b idiot")


def test_davidson_mapping(shared):
    rows = {row.text: row.labels for row in data.load_davidson(shared)}
    assert rows["hateful tweet & more"]["identity_attack"] == 1
    assert rows["rude tweet"] == empty_labels(toxicity=1, identity_attack=0)
    assert rows["nice tweet"] == empty_labels(toxicity=0, identity_attack=0)


def test_span_labels_need_half_the_annotators():
    typed = {"Insult": {"a1", "a2"}, "Threat": {"a3"}}
    labels = data._span_labels(3, typed)
    assert labels["toxicity"] == 1 and labels["insult"] == 1
    assert labels["threat"] is None  # one of three: unsure
    assert labels["obscene"] == 0 and labels["identity_attack"] == 0
    assert data._span_labels(3, {"Insult": {"a1"}}) == empty_labels()


def test_prepare_writes_deduplicated_masked_splits(shared, tmp_path):
    out = tmp_path / "out"
    summary = data.prepare(out, shared)
    rows = {
        name: [json.loads(line) for line in (out / f"{name}.jsonl").read_text().splitlines()]
        for name in data.SPLITS
    }
    texts = [dedup_key(r["text"]) for split in rows.values() for r in split]
    assert len(texts) == len(set(texts))  # no text in two splits, or twice in one
    all_rows = [r for split in rows.values() for r in split]
    assert all(set(r["labels"]) == set(LABELS) for r in all_rows)
    tweet = next(r for r in all_rows if r["text"] == "rude tweet")
    assert tweet["labels"]["insult"] is None and tweet["lang"] == "en"
    # The duplicate binary row merged into the six-label row; the bias text was dropped.
    assert not any(r["text"] == "WIKI comment number 1!!" for r in all_rows)
    assert not any(r["text"] == "another binary row" for r in all_rows)
    assert summary["dropped"]["in_bias_test"] == 1
    assert {r["source"] for r in rows["test"]} <= {"jigsaw-6label", "jigsaw-binary"}
    assert (out / "splits.json").exists() and (out / "test_jigsaw6.csv").exists()
    again = tmp_path / "again"
    data.prepare(again, shared)
    assert (again / "train.jsonl").read_text() == (out / "train.jsonl").read_text()


def test_masked_rows_do_not_train_a_label():
    train_linear = pytest.importorskip("civil.toxicity.training.linear")
    rows = [
        Row("a", empty_labels(toxicity=1, threat=1), "x"),
        Row("b", empty_labels(toxicity=0), "x"),
        Row("c", empty_labels(toxicity=1, threat=0), "x"),
    ]
    split = train_linear.split_from_rows(rows)
    threat = LABELS.index("threat")
    index, targets, weights = train_linear.training_rows(split, threat, implied=False)
    assert list(index) == [0, 2] and list(targets) == [1, 0]
    index, _, weights = train_linear.training_rows(split, threat, implied=True)
    # Implied negatives are opt-in, only from known non-toxic rows, and down-weighted.
    assert list(index) == [0, 1, 2] and weights[1] < 1.0
    assert np.all(weights[[0, 2]] == 1.0)


def test_official_test_rows_are_always_test_and_other_rows_keep_their_split(shared, tmp_path):
    before = tmp_path / "before"
    data.prepare(before, shared)
    official = [f"wiki comment number {i}" for i in range(10)]
    _write_csv(
        shared / "jigsaw-6label" / data.OFFICIAL_TEST_FILE,
        ["comment_text", "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"],
        [[text.lower(), 0, 0, 0, 0, 0, 0] for text in official],
    )
    after = tmp_path / "after"
    summary = data.prepare(after, shared)
    assert summary["test_official_csv_rows"] == 10

    def keys(out, name):
        lines = (out / f"{name}.jsonl").read_text().splitlines()
        return {dedup_key(json.loads(line)["text"]) for line in lines}

    wanted = {dedup_key(text) for text in official}
    assert wanted <= keys(after, "test")
    for name in ("train", "valid"):
        assert not wanted & keys(after, name)
        assert keys(after, name) == keys(before, name) - wanted
    texts, _ = data.read_jigsaw_csv(after / "test_official.csv")
    assert {dedup_key(t) for t in texts} == wanted
    # The unseen file is the test split as it was before the official rows moved in.
    unseen, _ = data.read_jigsaw_csv(after / "test_jigsaw6_unseen.csv")
    earlier, _ = data.read_jigsaw_csv(before / "test_jigsaw6.csv")
    assert sorted(unseen) == sorted(earlier)
    assert summary["test_jigsaw6_unseen_csv_rows"] == len(earlier)
