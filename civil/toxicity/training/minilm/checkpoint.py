"""A run's files: ``last.pt`` (everything to resume), ``best.safetensors`` + ``best.json``."""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from civil.toxicity.training.minilm.config import BEST_META, BEST_WEIGHTS, LAST, TrainConfig


@dataclass
class RunState:
    """Where a run stands; saved in ``last.pt`` so that a resumed run continues exactly."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    samples_seen: int = 0
    train_seconds: float = 0.0
    best_metric: float | None = None
    best_step: int = 0
    done: bool = False
    data_fingerprint: str = ""


def data_fingerprint(path: Path) -> str:
    """A cheap identity of a data file: size plus a hash of its first and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read())
    return digest.hexdigest()[:16]


def rng_state(torch: Any) -> dict[str, Any]:
    """The state of every random generator training draws from."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(torch: Any, state: dict[str, Any]) -> None:
    """Restore what ``rng_state`` saved."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(torch: Any, obj: Any, path: Path) -> None:
    """``torch.save`` to a side file, then rename: a crash never leaves a half-written file."""
    partial = path.with_name(path.name + ".partial")
    torch.save(obj, partial)
    os.replace(partial, path)


def save_last(
    torch: Any,
    out_dir: Path,
    parts: dict[str, Any],
    state: RunState,
    config: TrainConfig,
    total_steps: int,
) -> None:
    """Write ``last.pt``: model, optimizer and scheduler states (``parts``), RNGs, run state."""
    atomic_save(
        torch,
        {
            "model": parts["model"].state_dict(),
            "optimizer": parts["optimizer"].state_dict(),
            "scheduler": parts["scheduler"].state_dict(),
            "rng": rng_state(torch),
            "state": asdict(state),
            "config": config.to_json(),
            "total_steps": total_steps,
        },
        out_dir / LAST,
    )


def load_last(torch: Any, out_dir: Path, parts: dict[str, Any]) -> RunState:
    """Load ``last.pt`` into ``parts`` and the RNGs; return the saved run state."""
    # Our own file, written by save_last: plain pickle of states and RNG tuples.
    saved = torch.load(out_dir / LAST, map_location="cpu", weights_only=False)
    for name in ("model", "optimizer", "scheduler"):
        parts[name].load_state_dict(saved[name])
    set_rng_state(torch, saved["rng"])
    return RunState(**saved["state"])


def save_best(model: Any, out_dir: Path, meta: dict[str, Any], *, indent: int | None = 2) -> None:
    """Write the model's weights as ``best.safetensors`` (atomically) and ``meta`` beside."""
    from safetensors.torch import save_file

    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    partial = out_dir / (BEST_WEIGHTS + ".partial")
    save_file(weights, str(partial))
    os.replace(partial, out_dir / BEST_WEIGHTS)
    (out_dir / BEST_META).write_text(json.dumps(meta, indent=indent), encoding="utf-8")


def load_init_checkpoint(model: Any, path: Path) -> None:
    """Load a Detoxify-format checkpoint's weights into ``model`` (same architecture)."""
    import torch

    saved = torch.load(path, map_location="cpu", weights_only=True)
    state = {key: value.float() for key, value in saved["state_dict"].items()}
    model.load_state_dict(state)
