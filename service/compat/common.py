"""What the compatible endpoints share: the API's own scorer, key lookup, waiting, limits."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from civil.errors import Unauthorized
from civil.scoring import Scorer
from civil.settings import Settings
from civil.sites import authenticate
from service.context import database, settings
from service.limits import memo

_load_lock = threading.Lock()


@dataclass(frozen=True)
class KeyedSite:
    """The site an API key belongs to, copied out of the session."""

    site_id: str
    policy: dict[str, Any]


def _lookup(key: str) -> KeyedSite | None:
    with database().session() as session:
        try:
            site = authenticate(session, key)
        except Unauthorized:
            return None
        return KeyedSite(site.id, dict(site.policy or {}))


def site_for_key(key: str | None) -> KeyedSite | None:
    """The site owning `key`, or None when it is missing or wrong (one lookup per request)."""
    if not key:
        return None
    return memo("compat_site:" + _digest(key), lambda: _lookup(key))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def key_counter(key: str | None) -> str | None:
    """The rate-limit counter of a valid API key; None (counted per address) for a bad one."""
    if site_for_key(key) is None:
        return None
    # Counters are kept per API key; the key itself never becomes a Redis key name.
    return "compat:" + _digest(key or "")


def _build_scorer(config: Settings) -> Scorer:
    spec, model_dir = config.sync_toxicity_model, Path(config.model_dir)
    if spec == "linear":
        from civil.toxicity.linear import LinearToxicityModel

        return LinearToxicityModel.load(model_dir / "linear")
    # Any other spec is built exactly as a worker builds it (civil.toxicity holds no Celery
    # code; importing it here only loads the model code the spec needs).
    from civil.toxicity.loader import load_scorer

    return load_scorer(spec, model_dir, config.score_batch_size)


def sync_scorer() -> Scorer:
    """The API process's own scorer for synchronous answers, loaded once on first use.

    Raises ScorerUnavailable (the caller answers 503) and tries again on the next call.
    """
    extensions = current_app.extensions["civil"]
    scorer = extensions.get("sync_scorer")
    if scorer is None:
        # One load per process even when the first requests arrive together.
        with _load_lock:
            scorer = extensions.get("sync_scorer")
            if scorer is None:
                scorer = _build_scorer(settings())
                extensions["sync_scorer"] = scorer
    return scorer
