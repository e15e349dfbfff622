"""The autoscaling signals on /metrics: depth per queue and the age of the oldest waiting work."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from service import create_app
from tests.factories import comment_body

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus-rules.yml"


def samples(client) -> dict[tuple[str, str], float]:
    body = client.get("/metrics").get_data(as_text=True)
    out = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out[(sample.name, sample.labels.get("queue", ""))] = sample.value
    return out


@pytest.mark.parametrize("backend", ["sqlite-embedded", "pg-redis"])
def test_queue_depth_and_oldest_age_track_the_backlog(backend, make_stack, request):
    if backend == "pg-redis":
        stack = make_stack(
            database_url=request.getfixturevalue("pg_url"),
            broker_url=request.getfixturevalue("redis_url"),
        )
    else:
        stack = make_stack()
    site = stack.site()
    ids = []
    for _ in range(4):  # no worker yet: they wait
        body = comment_body()
        assert stack.post(site, body).status_code == 202
        ids.append(body["id"])
    first = samples(stack.client)
    assert first[("civil_queue_depth", "scoring")] == 4
    time.sleep(1.2)
    second = samples(stack.client)
    age = second[("civil_queue_oldest_age_seconds", "scoring")]
    assert age >= first[("civil_queue_oldest_age_seconds", "scoring")] + 1.0
    assert second[("civil_queue_oldest_age_seconds", "delivery")] == 0

    stack.start_worker(concurrency=1)
    for external_id in ids:
        stack.wait_decided(site, external_id)
    done = samples(stack.client)
    assert done[("civil_queue_oldest_age_seconds", "scoring")] == 0
    # One task scores the batch; the other messages are taken and found decided right after.
    deadline = time.monotonic() + 30
    while done[("civil_queue_depth", "scoring")] and time.monotonic() < deadline:
        time.sleep(0.2)
        done = samples(stack.client)
    assert done[("civil_queue_depth", "scoring")] == 0


def test_every_metric_the_alert_rules_name_is_exported(pg_redis_stack):
    rules = yaml.safe_load(RULES.read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert any(e.startswith("absent(civil_queue_oldest_age_seconds") for e in exprs)
    names = {(sample[0]) for sample in samples(pg_redis_stack.client)}
    for expr in exprs:
        for metric in re.findall(r"civil_[a-z_]+", expr):
            assert metric in names, f"{metric} (in {expr!r}) is not on /metrics"


def test_a_down_broker_drops_depth_but_keeps_the_age(pg_redis_stack):
    down = create_app(replace(pg_redis_stack.settings, broker_url="redis://127.0.0.1:1/0"))
    got = samples(down.test_client())
    assert ("civil_queue_oldest_age_seconds", "scoring") in got
    assert not [k for k in got if k[0] == "civil_queue_depth"]
    down.extensions["civil"]["db"].engine.dispose()
