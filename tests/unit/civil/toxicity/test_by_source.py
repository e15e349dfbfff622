import json

import numpy as np
import pytest

from civil.scoring import TOXICITY_LABELS
from civil.toxicity.dataset import Dataset, read_dataset
from civil.toxicity.training.by_source import MemoScorer, markdown, read_memo, table

NAN = float("nan")


class Counting:
    name = "counting"

    def __init__(self):
        self.calls = []

    def score_batch_detailed(self, texts):
        self.calls.append(list(texts))
        return [(dict.fromkeys(TOXICITY_LABELS, len(t) / 100), 1) for t in texts]


def test_memo_scores_each_text_once_and_keeps_it_on_disk(tmp_path):
    path = tmp_path / "memo.jsonl"
    inner = Counting()
    memo = MemoScorer(inner, path, batch=2)
    first = memo.score_batch(["ab", "abc", "ab", "abcd", "abcde"])
    assert [s["toxicity"] for s in first] == [0.02, 0.03, 0.02, 0.04, 0.05]
    # Distinct texts only, in batches of two, each appended as it came.
    assert inner.calls == [["ab", "abc"], ["abcd", "abcde"]]
    memo.score_batch(["abc", "abcde"])
    assert len(inner.calls) == 2
    again = MemoScorer(Counting(), path)
    assert again.score_batch(["abcd"]) == [first[3]] and again.scorer.calls == []
    assert set(read_memo(path)) == {"ab", "abc", "abcd", "abcde"}


def test_table_gives_each_source_its_own_labels_and_aucs(tmp_path):
    rows = [
        # Source a: toxicity only; the model ranks it perfectly.
        {"text": "a1", "source": "a", "labels": {"toxicity": 1}},
        {"text": "a2", "source": "a", "labels": {"toxicity": 0}},
        {"text": "a3", "source": "a", "labels": {"toxicity": 0}},
        # Source b: toxicity and insult; toxicity ranked backwards, insult perfectly.
        {"text": "b1", "source": "b", "labels": {"toxicity": 1, "insult": 0}},
        {"text": "b2", "source": "b", "labels": {"toxicity": 0, "insult": 1}},
    ]
    path = tmp_path / "valid.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = read_dataset(path)
    scores = np.zeros((5, 6))
    scores[:, 0] = [0.9, 0.1, 0.2, 0.3, 0.8]
    scores[:, 4] = [0.0, 0.0, 0.0, 0.1, 0.7]
    got = {row["source"]: row for row in table(data, {"m": scores})}
    assert got["a"]["rows"] == 3 and got["a"]["labels"] == ["toxicity"]
    assert got["a"]["m"] == {"toxicity": 1.0, "mean": 1.0}
    assert got["b"]["labels"] == ["toxicity", "insult"]
    assert got["b"]["m"]["toxicity"] == 0.0 and got["b"]["m"]["mean"] == pytest.approx(0.5)
    # All rows: toxicity over five rows (two positives), insult over b's two.
    assert got["all"]["rows"] == 5
    assert got["all"]["m"]["toxicity"] == pytest.approx(5 / 6)
    text = markdown(table(data, {"m": scores}), ["m"])
    assert "| a | 3 | 1.0000 | 1.0000 |" in text and "| all | 5 |" in text


def test_a_source_with_one_class_has_no_auc():
    data = Dataset(["x", "y"], np.array([[0] + [NAN] * 5] * 2, np.float32), ["c", "c"], ["en"] * 2)
    (row, _) = table(data, {"m": np.zeros((2, 6))})
    assert row["m"] == {"toxicity": None, "mean": None}
    assert "| c | 2 | — | — |" in markdown([row], ["m"])


def test_sample_by_source_is_seeded_and_capped():
    from civil.toxicity.training.by_source import sample_by_source

    sources = ["a"] * 10 + ["b"] * 3
    data = Dataset([str(i) for i in range(13)], np.zeros((13, 6), np.float32), sources, ["en"] * 13)
    first, again = sample_by_source(data, 4), sample_by_source(data, 4)
    assert first.texts == again.texts and first.sources.count("a") == 4
    assert first.sources.count("b") == 3 and first.texts == sorted(first.texts, key=int)
