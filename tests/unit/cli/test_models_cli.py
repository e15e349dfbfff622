"""`civil models decisions` and `civil models check --policy`: what a policy does to rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import civil
from tests.support.policies import EARLIER_REJECT

SCORER = "python:tests.support.scorers:HarmWordScorer"
# The defaults before auto-reject was narrowed to severe harm.
EARLIER = json.dumps({"thresholds": EARLIER_REJECT})
COLUMNS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
ROWS = [
    ("You are an idiot.", {"toxic", "insult"}),
    ("What a moron.", {"toxic", "insult"}),
    ("I will kill you.", {"toxic", "threat"}),
    ("Thanks for the article.", set()),
    ("These prices kill small shops.", set()),  # clean, but the scorer reads a threat
]


@pytest.fixture
def invoke(settings, monkeypatch):
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(civil, ["models", *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["comment_text", *COLUMNS])
        for text, positive in ROWS:
            writer.writerow([text, *(int(c in positive) for c in COLUMNS)])
    return path


def test_decisions_count_toxic_and_clean_rows_under_each_policy(invoke, labelled):
    out = json.loads(
        invoke("decisions", "--data", str(labelled), "--model", SCORER, "--policy", EARLIER)
    )
    assert out["model"] == "test:harm-words" and out["rows"] == 5
    [earlier] = out["policies"]
    assert earlier["outcomes"]["toxic"] == {"n": 3, "rejected": 3, "held": 0, "approved": 0}
    default = json.loads(invoke("decisions", "--data", str(labelled), "--model", SCORER))
    [today] = default["policies"]
    assert today["policy"] == "default"
    outcomes = today["outcomes"]
    # Insults are held for a moderator; the threat is rejected.
    assert outcomes["toxic"] == {"n": 3, "rejected": 1, "held": 2, "approved": 0}
    assert outcomes["positive_for"]["insult"] == {"n": 2, "rejected": 0, "held": 2, "approved": 0}
    assert outcomes["positive_for"]["threat"]["rejected"] == 1
    assert outcomes["clean"] == {"n": 2, "rejected": 1, "held": 0, "approved": 1}
    assert outcomes["clean_rejected_by"] == {"toxic_threat": 1}


def test_policies_compare_on_the_same_scores_and_the_sweep_gives_precision(invoke, labelled):
    out = json.loads(
        invoke(
            "decisions",
            "--data",
            str(labelled),
            "--model",
            SCORER,
            "--policy",
            "{}",
            "--policy",
            EARLIER,
            "--sweep",
        )
    )
    rejected = [p["outcomes"]["toxic"]["rejected"] for p in out["policies"]]
    assert rejected == [1, 3]
    threat = {p["threshold"]: p for p in out["reject_sweep"]["threat"]}
    # Two rows reach 0.95 for threat: one is a threat, the other clean.
    assert threat[0.95] == {
        "threshold": 0.95,
        "flagged": 2,
        "label_positive": 1,
        "label_precision": 0.5,
        "severe_precision": 0.5,
        "toxic_precision": 0.5,
    }
    assert threat[0.97]["flagged"] == 0 and threat[0.97]["label_precision"] is None
    insult = {p["threshold"]: p for p in out["reject_sweep"]["insult"]}
    assert insult[0.95]["label_precision"] == 1.0 and insult[0.95]["flagged"] == 2
    # Insults are toxic but not severe harm: a reject there would be precise for the label only.
    assert (insult[0.95]["toxic_precision"], insult[0.95]["severe_precision"]) == (1.0, 0.0)


def test_decisions_read_a_prepared_split_with_unknown_labels(invoke, tmp_path):
    path = tmp_path / "test.jsonl"
    unknown = dict.fromkeys(["severe_toxicity", "obscene", "threat", "insult", "identity_attack"])
    rows = [
        {"text": "you idiot", "labels": {"toxicity": 1, **unknown}, "source": "s", "lang": "en"},
        {"text": "fine", "labels": {"toxicity": 0, **unknown}, "source": "s", "lang": "en"},
        {
            "text": "??",
            "labels": dict.fromkeys([*unknown, "toxicity"]),
            "source": "s",
            "lang": "en",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = json.loads(invoke("decisions", "--data", str(path), "--model", SCORER))
    outcomes = out["policies"][0]["outcomes"]
    # A row with no known label is neither toxic nor clean.
    assert outcomes["toxic"] == {"n": 1, "rejected": 0, "held": 1, "approved": 0}
    assert outcomes["clean"] == {"n": 1, "rejected": 0, "held": 0, "approved": 1}


def test_check_takes_a_policy(invoke):
    default = json.loads(invoke("check", "--model", SCORER, "--limit", "90"))
    earlier = json.loads(invoke("check", "--model", SCORER, "--limit", "90", "--policy", EARLIER))
    plain_now = default["functionalities"]["insult_plain"]
    plain_then = earlier["functionalities"]["insult_plain"]
    assert plain_now["held_or_rejected"] == plain_then["held_or_rejected"] > 0
    assert plain_now["rejected"] == 0 < plain_then["rejected"]


def test_a_bad_policy_is_refused_before_any_scoring(invoke, labelled):
    out = invoke("decisions", "--data", str(labelled), "--policy", "[1]", code=2)
    assert "a JSON object" in out
    out = invoke("check", "--policy", '{"thresholds": {"insult": 3}}', code=2)
    assert json.loads(out.strip().splitlines()[-1])["error"] == "validation_failed"
