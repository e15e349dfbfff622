import csv

import numpy as np
import pytest

from civil.toxicity.training.evaluate import bias_report, evaluate_csv


class KeywordScorer:
    name = "keywords"

    def score_batch(self, texts):
        out = []
        for text in texts:
            rude = 0.9 if "idiot" in text else 0.1
            out.append(
                {
                    "toxicity": rude,
                    "severe_toxicity": rude / 2,
                    "obscene": 0.2,
                    "threat": 0.9 if "kill" in text else 0.1,
                    "insult": rude,
                    "identity_attack": 0.1,
                }
            )
        return out


def test_evaluate_csv_skips_missing_columns(tmp_path):
    path = tmp_path / "small.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "comment_text", "toxic", "threat", "insult"])
        writer.writerow(["1", "you idiot", "1", "0", "1"])
        writer.writerow(["2", "nice work", "0", "0", "0"])
        writer.writerow(["3", "I will kill you", "1", "1", "0"])
        writer.writerow(["4", "thanks, idiot-proof guide", "0", "0", "0"])
    lines = []
    result = evaluate_csv(KeywordScorer(), path, out=lines.append)
    assert set(result) == {"toxicity", "threat", "insult", "mean"}
    assert result["threat"] == 1.0
    assert result["mean"] == pytest.approx(
        np.mean([result[k] for k in ("toxicity", "threat", "insult")])
    )
    assert any("threat" in line for line in lines)


def test_bias_report_templates():
    report = bias_report(KeywordScorer())["templates"]
    assert report["fpr_max"] == 0.0
    assert set(report["per_identity"]["muslim"]) == {"fpr", "mean_score", "tpr"}
    assert "I am a gay Muslim woman." in report["examples"]
