"""Ops endpoints: /healthz, /readyz, /metrics, /openapi.json."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from civil.ops import health
from civil.schema import Alive, Error, Ready
from service.broker import amqp_probe, amqp_reader
from service.context import database, settings
from service.openapi import spec

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive."""
    return jsonify(Alive(status="ok").wire())


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Database, broker, a live worker and loaded models: 200 when all hold, else 503."""
    db_state = health.check_database(database())
    broker = health.check_broker(settings(), amqp_probe(settings(), producer()))
    workers = health.live_workers(database(), settings()) if db_state["ok"] else []
    checks = {
        "database": db_state,
        "broker": broker,
        "workers": {"ok": bool(workers), "live": len(workers)},
        "models": {
            "ok": health.models_loaded(workers),
            "toxicity": settings().toxicity_model,
            "workers": {w["name"]: w["models"] for w in workers},
        },
    }
    ready = all(c["ok"] for c in checks.values())
    # Reported, not required: intake works without the scheduler (the sweeper and the delivery
    # dispatcher catch up when it is back), so a dead one must not take the API out of service.
    schedulers = health.live_schedulers(database(), settings()) if db_state["ok"] else []
    checks["scheduler"] = {"ok": bool(schedulers), "live": len(schedulers), "required": False}
    if ready:
        return jsonify(Ready(status="ready", checks=checks).wire()), 200
    failing = sorted(name for name, c in checks.items() if not c["ok"])
    body = Error(error="not_ready", message="not ready: " + ", ".join(failing), details=checks)
    return jsonify(body.wire()), 503


def producer() -> Any:
    return current_app.extensions["civil"]["producer"]


class DeploymentCollector(Collector):
    """Gauges read at scrape time: queue depth, comments pending, deliveries by status."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("civil_queue_depth", "Messages waiting", labels=["queue"])
        try:
            reader = amqp_reader(settings(), producer())
            for queue, size in health.queue_depths(settings(), reader).items():
                depth.add_metric([queue], size)
        except Exception:  # noqa: S110 - a down broker shows as missing samples
            pass
        yield depth
        age = GaugeMetricFamily(
            "civil_queue_oldest_age_seconds",
            "Seconds the oldest waiting work of a queue has waited (scale workers on scoring)",
            labels=["queue"],
        )
        try:
            for queue, seconds in health.oldest_waiting(database()).items():
                age.add_metric([queue], seconds)
        except Exception:  # noqa: S110 - no samples: the absent() alert rule fires
            pass
        yield age
        counts = health.counts(database())
        comments = GaugeMetricFamily("civil_comments", "Comments by status", labels=["status"])
        for status, n in counts["comments"].items():
            comments.add_metric([status], n)
        yield comments
        events = GaugeMetricFamily(
            "civil_deliveries", "Callback events by status", labels=["status"]
        )
        for status, n in counts["deliveries"].items():
            events.add_metric([status], n)
        yield events
        yield GaugeMetricFamily(
            "civil_dead_letters",
            "Dead-lettered callback events",
            value=counts["deliveries"].get("dead", 0),
        )


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format (summed across processes when PROMETHEUS_MULTIPROC_DIR is set)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    deployment = CollectorRegistry()
    deployment.register(DeploymentCollector())
    body = generate_latest(counters) + generate_latest(deployment)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The whole HTTP API as OpenAPI 3.1."""
    return jsonify(spec())
