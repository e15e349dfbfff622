"""One model, one answer: the synchronous endpoints score with the workers' model by default."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from civil.settings import Settings
from civil.toxicity.loader import load_scorer
from service import create_app

THREAT = "I will hurt you badly."
KIND = "Thank you for the clear report on the new library."


def test_sync_model_defaults_to_the_workers_model(tmp_path):
    assert Settings.from_env({}, data_dir=tmp_path).sync_toxicity_model == "cascade"
    chosen = Settings.from_env({}, data_dir=tmp_path, toxicity_model="linear")
    assert chosen.sync_toxicity_model == "linear"
    own = Settings.from_env({"CIVIL_SYNC_TOXICITY_MODEL": "minilm"}, data_dir=tmp_path)
    assert own.sync_toxicity_model == "minilm" and own.toxicity_model == "cascade"


@pytest.fixture(scope="module")
def cascade():
    return load_scorer("cascade", Settings.from_env({}).model_dir)


def test_moderations_and_analyze_answer_with_the_default_model(settings, db, site, cascade):
    app = create_app(replace(settings, toxicity_model="cascade", sync_toxicity_model="cascade"))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {site.api_key}"}
    answer = client.post("/v1/moderations", json={"input": [THREAT, KIND]}, headers=auth)
    assert answer.status_code == 200
    # The answer names the model, and it is the one a worker decides with.
    assert answer.json["model"] == f"civil:{cascade.name}"
    threat, kind = answer.json["results"]
    assert threat["flagged"] is True and kind["flagged"] is False
    # The threat grammar beside the models (civil/toxicity/threats.py) reads it as a threat.
    assert threat["category_scores"]["violence"] >= 0.7
    assert kind["category_scores"]["violence"] < 0.4
    worker = cascade.score_batch([THREAT])[0]
    assert threat["category_scores"]["harassment"] == pytest.approx(worker["insult"], abs=1e-6)

    body = {"comment": {"text": THREAT}, "requestedAttributes": {"TOXICITY": {}}}
    scored = client.post(f"/v1alpha1/comments:analyze?key={site.api_key}", json=body)
    value = scored.json["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert value == pytest.approx(worker["toxicity"], abs=1e-4)

    # Latency once loaded: a short comment answers in well under a second on a busy machine.
    began = time.process_time()
    for _ in range(10):
        client.post("/v1/moderations", json={"input": KIND}, headers=auth)
    assert (time.process_time() - began) / 10 < 0.5
