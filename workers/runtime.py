"""Per-process state of a worker: its database handle and its loaded scorer."""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from civil.db import Database
from civil.scoring import Scorer, ScorerUnavailable
from civil.settings import Settings

log = logging.getLogger("civil.worker")
RELOAD_AFTER_S = 60.0

_state: dict[str, Any] = {
    "db": None,
    "scorer": None,
    "error": None,
    "tried_at": 0.0,
    "spam": None,
    "spam_error": None,
}


def database(settings: Settings) -> Database:
    if _state["db"] is None:
        _state["db"] = Database(settings)
    return _state["db"]


def reset_database() -> None:
    """Forget the parent's engine in a forked child: pooled sockets must not be shared."""
    if _state["db"] is not None:
        _state["db"].dispose()


def set_nodename(name: str | None) -> None:
    # Children inherit the environment, so they can name the worker they belong to.
    os.environ["CIVIL_WORKER_NODENAME"] = name or f"civil@{socket.gethostname()}"


def nodename() -> str:
    return os.environ.get("CIVIL_WORKER_NODENAME") or f"civil@{socket.gethostname()}"


def load_scorer(settings: Settings) -> None:
    """Load the configured toxicity model once; remember the failure instead of crashing."""
    from civil.toxicity.loader import load_scorer as build

    _state["tried_at"] = time.monotonic()
    _limit_threads(settings.torch_threads)
    started = time.monotonic()
    try:
        _state["scorer"] = build(
            settings.toxicity_model, Path(settings.model_dir), settings.score_batch_size
        )
        _state["error"] = None
        log.info(
            "toxicity model %s loaded in %.2fs", settings.toxicity_model, time.monotonic() - started
        )
    except ScorerUnavailable as exc:
        _state["scorer"], _state["error"] = None, str(exc)
        log.error("toxicity model %s unavailable: %s", settings.toxicity_model, exc)


def load_spam_model(settings: Settings) -> None:
    """Load the shipped spam text model once per process (scoring falls back if it fails)."""
    from civil.spam.textmodel import load_cached

    started = time.monotonic()
    try:
        model = load_cached(str(Path(settings.model_dir) / "spam"))
    except ScorerUnavailable as exc:
        _state["spam"], _state["spam_error"] = None, str(exc)
        log.error("spam model unavailable: %s", exc)
        return
    _state["spam"], _state["spam_error"] = f"spam:{model.version}", None
    log.info("spam model loaded in %.2fs", time.monotonic() - started)


def _limit_threads(threads: int) -> None:
    # Each prefork process runs its own model: one intra-op thread per process (one process per
    # core) beats every process fighting for every core.
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def scorer(settings: Settings) -> Scorer:
    """The loaded scorer; retries a failed load at most once a minute."""
    if _state["scorer"] is None and time.monotonic() - _state["tried_at"] > RELOAD_AFTER_S:
        load_scorer(settings)
    if _state["scorer"] is None:
        raise ScorerUnavailable(_state["error"] or "toxicity model not loaded")
    return _state["scorer"]


def serve_metrics(port: int) -> None:
    """Expose this worker's metrics (all its pool processes) when workers run on other hosts."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    start_http_server(port, registry=registry)


def model_status() -> dict[str, Any]:
    loaded = _state["scorer"]
    return {
        "toxicity": {
            "loaded": loaded is not None,
            "name": getattr(loaded, "name", None),
            "error": _state["error"],
        },
        "spam": {
            "loaded": _state["spam"] is not None,
            "name": _state["spam"],
            "error": _state["spam_error"],
        },
    }
