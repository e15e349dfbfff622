"""The stage-3 MiniLM data: Implicit Hate labels, span sentences, dedupe and hash splits."""

import csv
import json
from pathlib import Path

import pytest

from civil.toxicity.training import functional, threat_mix
from civil.toxicity.training.data import LABELS, dedup_key
from civil.toxicity.training.threat import _bucket

THREATENING = "they need to be hung brother, every last one of the invaders"
INCITEMENT = "wake up white people, we must rise up and take our country back"
GRIEVANCE = "white people are the only ones nobody is allowed to stand up for"
UNTYPED = "we all know which group runs the banks, just saying"
EXPLICIT = "those people are vermin and i hate every one of them"
CONFLICT = "a post the two stage-one rows disagree about"
IN_PREPARED = "This exact post is already in the prepared train split!"


def _write(path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    root = tmp_path / "toxicity"
    folder = root / threat_mix.FOLDER
    benign = [f"post number {i} about the muslim community centre opening" for i in range(60)]
    functional_text = next(c.text for c in functional.cases() if c.functionality == "negated_hate")
    stage1 = [
        # The corpus's export artefacts around a post.
        [f'  " : {THREATENING} " " "', "implicit_hate"],
        [INCITEMENT, "implicit_hate"],
        [GRIEVANCE, "implicit_hate"],
        [UNTYPED, "implicit_hate"],
        [EXPLICIT, "explicit_hate"],
        [CONFLICT, "not_hate"],
        [CONFLICT.upper(), "implicit_hate"],
        [IN_PREPARED.lower(), "not_hate"],
        [functional_text, "not_hate"],
        *[[text, "not_hate"] for text in benign],
    ]
    _write(folder / f"{threat_mix.PREFIX}stg1_posts.tsv", ["post", "class"], stage1, "\t")
    stage2 = [
        [f'" {THREATENING} "', "threatening", ""],
        [INCITEMENT, "incitement", ""],
        [GRIEVANCE, "white_grievance", "irony"],
    ]
    _write(
        folder / f"{threat_mix.PREFIX}stg2_posts.tsv",
        ["post", "implicit_class", "extra_implicit_class"],
        stage2,
        "\t",
    )
    spans = root / "toxic-spans"
    threat_post = "The council voted again. I will break your legs, you crook. See you there."
    start = threat_post.index("I will")
    end = threat_post.index(", you")
    clean_post = "The mayor is a fool. Nobody voted for this budget at all. Resign now please."
    _write(
        spans / "comments.csv",
        ["comment_id", "comment_text"],
        [["c1", threat_post], ["c2", clean_post]],
    )
    _write(
        spans / "annotations.csv",
        ["annotation", "comment_id"],
        [["a1", "c1"], ["a2", "c1"], ["a3", "c2"]],
    )
    _write(
        spans / "spans.csv",
        ["annotation", "type", "start", "end"],
        [
            ["a1", "Threat", start, end],
            ["a2", "Threat", start + 2, end],
            ["a3", "Insult", 16, 20],
        ],
    )
    _write(
        root / "wikipedia-bias" / "toxicity_fuzzed_testset.csv",
        ["rev_id", "comment", "toxic"],
        [[1, benign[0], "False"]],
    )
    _write(
        root / "wikipedia-bias" / "toxicity_nonfuzzed_testset.csv",
        ["rev_id", "comment", "toxic"],
        [],
    )
    return root


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    out = tmp_path / "prepared"
    out.mkdir()
    rows = {
        "train": [{"text": IN_PREPARED, "labels": dict.fromkeys(LABELS, 0), "source": "x"}],
        "valid": [{"text": "a validation row", "labels": dict.fromkeys(LABELS, 0), "source": "x"}],
        "test": [{"text": "a test row", "labels": dict.fromkeys(LABELS, 1), "source": "x"}],
    }
    for name, records in rows.items():
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (out / "test_jigsaw6.csv").write_text("comment_text,toxic\n")
    return out


def test_implicit_hate_labels_follow_the_table_and_mask_the_rest(shared):
    rows = {row.text: row for row in threat_mix.implicit_hate_rows(shared)}
    threatening = rows[THREATENING]  # artefacts stripped
    assert threatening.source == threat_mix.IH_THREAT
    assert threatening.labels == {
        "toxicity": 1,
        "severe_toxicity": None,
        "obscene": None,
        "threat": 1,
        "insult": None,
        "identity_attack": 1,
    }
    assert rows[INCITEMENT].source == threat_mix.IH_INCITEMENT
    assert rows[INCITEMENT].labels["threat"] == 1
    grievance = rows[GRIEVANCE].labels
    assert (grievance["identity_attack"], grievance["threat"], grievance["toxicity"]) == (
        1,
        0,
        None,
    )
    untyped = rows[UNTYPED].labels
    assert (untyped["identity_attack"], untyped["threat"], untyped["toxicity"]) == (1, None, None)
    explicit = rows[EXPLICIT].labels
    assert (explicit["toxicity"], explicit["identity_attack"], explicit["threat"]) == (1, 1, None)
    benign = rows["post number 3 about the muslim community centre opening"]
    assert benign.source == threat_mix.IH
    assert {k: v for k, v in benign.labels.items() if v is not None} == {
        "toxicity": 0,
        "threat": 0,
        "identity_attack": 0,
    }
    assert CONFLICT not in rows and CONFLICT.upper() not in rows


def test_clean_post_keeps_the_dedup_key():
    raw = '  " : jewish professor wants to abolish the white race via #wr " " "'
    assert threat_mix.clean_post(raw) == "jewish professor wants to abolish the white race via #wr"
    assert dedup_key(threat_mix.clean_post(raw)) == dedup_key(raw)


def test_build_dedupes_splits_by_hash_and_keeps_the_prepared_test(shared, prepared, tmp_path):
    out = tmp_path / "stage3"
    summary = threat_mix.build(prepared, out, shared)
    assert summary["dropped"]["prepared"] == 1
    assert summary["dropped"]["functional_suite"] == 1
    assert summary["dropped"]["bias_test"] == 1
    train_lines = (out / "train.jsonl").read_text().splitlines()
    # The prepared rows come first, unchanged (replayed as they were).
    assert train_lines[0] == (prepared / "train.jsonl").read_text().splitlines()[0]
    assert (out / "test.jsonl").read_text() == (prepared / "test.jsonl").read_text()
    assert (out / "test_jigsaw6.csv").exists()
    extra = {
        name: [json.loads(line) for line in (out / f"extra_{name}.jsonl").read_text().splitlines()]
        for name in ("train", "valid", "test")
    }
    assert all(extra.values()), "60 benign posts land in every split"
    keys = {name: {dedup_key(r["text"]) for r in rows} for name, rows in extra.items()}
    assert not keys["test"] & (keys["train"] | keys["valid"])
    train_keys = {dedup_key(json.loads(line)["text"]) for line in train_lines}
    assert not keys["test"] & train_keys
    for name, rows in extra.items():
        for record in rows:
            if record["source"] != threat_mix.SPANS:
                assert _bucket(dedup_key(record["text"])) == name
    # Span sentences go where their post goes: the threat sentence with post c1, the
    # threat-free sentences of post c2 (nobody marked a threat there) together with c2.
    span_rows = [
        (n, r) for n, rows in extra.items() for r in rows if r["source"] == threat_mix.SPANS
    ]
    threat = [(n, r) for n, r in span_rows if r["labels"]["threat"] == 1]
    assert [r["text"] for _, r in threat] == ["I will break your legs, you crook."]
    assert {n for n, _ in threat} == {_bucket(f"{threat_mix.SPANS}:c1")}
    negatives = [(n, r) for n, r in span_rows if r["labels"]["threat"] == 0]
    assert len(negatives) == 2  # "The mayor is a fool." is under 20 characters
    assert {n for n, _ in negatives} == {_bucket(f"{threat_mix.SPANS}:c2")}
    assert all(r["labels"]["toxicity"] is None for _, r in negatives)
    valid_lines = (out / "valid.jsonl").read_text().splitlines()
    assert len(valid_lines) == 1 + len(extra["valid"])
    assert summary["extra"]["test"]["rows"] == len(extra["test"])


def test_build_refuses_to_overwrite_the_prepared_folder(shared, prepared):
    with pytest.raises(ValueError, match="must not be the prepared folder"):
        threat_mix.build(prepared, prepared, shared)


def test_report_scores_the_held_out_rows(shared, prepared, tmp_path):
    out = tmp_path / "stage3"
    threat_mix.build(prepared, out, shared)
    rows = [
        json.loads(line)
        for name in ("train", "valid", "test")
        for line in (out / f"extra_{name}.jsonl").read_text().splitlines()
    ]
    (out / "extra_test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    class Keyword:
        """Scores threat by a word the threat rows hold: a real ranking, not a constant."""

        name = "keyword"

        def score_batch(self, texts):
            return [
                {
                    label: float(label == "threat" and ("hung" in t or "rise up" in t))
                    + 0.5 * (label == "identity_attack" and "post number" not in t)
                    for label in LABELS
                }
                for t in texts
            ]

    result = threat_mix.report(Keyword(), out / "extra_test.jsonl")
    assert result["rows"] == len(rows)
    positives = sum(r["labels"]["threat"] == 1 for r in rows if r["source"] != threat_mix.SPANS)
    assert result["threat_positives"] == {"implicit_hate": positives, "toxic_spans": 1}
    assert positives == 2
    assert result["auc"]["threat, implicit-hate"] == 1.0
    assert result["auc"]["identity_attack, implicit-hate"] == 1.0
    # Not-hate posts: identity 0, threat 0 unless they hold a threat keyword (none does).
    assert result["not_hate_rows"] == 59  # the 60 benign posts less the bias-test one
    assert result["not_hate_flagged"] == 0.0
    # The keyword misses the span threat: ranked no better than chance.
    assert result["auc"]["threat, toxic-spans sentences"] == 0.5
