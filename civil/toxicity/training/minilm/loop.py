"""The training loop: set up a run (or resume it), step, validate, save, stop cleanly."""

from __future__ import annotations

import contextlib
import json
import math
import random
import signal
import sys
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from civil.toxicity.dataset import Dataset, read_dataset
from civil.toxicity.metrics import label_aucs, mean_auc
from civil.toxicity.training.minilm import checkpoint
from civil.toxicity.training.minilm.batches import (
    collate,
    concat_datasets,
    epoch_batches,
    identity_dataset,
    tokenize,
    validation_subset,
)
from civil.toxicity.training.minilm.checkpoint import RunState
from civil.toxicity.training.minilm.config import (
    HISTORY,
    LABELS,
    LAST,
    TrainConfig,
    resolve_config,
)
from civil.toxicity.training.minilm.model import (
    base_model_dir,
    load_base_model,
    load_tokenizer,
    pick_device,
    predict_ids,
)


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


def make_optimizer(torch: Any, model: Any, config: TrainConfig) -> Any:
    """AdamW: no weight decay on biases and norms; the classifier head at its own rate."""
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


def make_scheduler(torch: Any, optimizer: Any, total_steps: int, warmup: float) -> Any:
    """Linear warm-up over ``warmup`` of the steps, then linear decay to zero."""
    warmup_steps = max(1, round(total_steps * warmup))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        remaining = max(1, total_steps - warmup_steps)
        return max(0.0, (total_steps - step) / remaining)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@dataclass
class Split:
    """Rows and their token ids (``lengths`` only for training rows)."""

    data: Dataset
    token_ids: list[list[int]]
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def load_train_split(
    tokenizer: Any, config: TrainConfig, path: Path, emit: Callable[[str], None], device: Any
) -> Split:
    """Read and tokenize the training rows (plus the identity sentences when asked)."""
    import torch

    data = read_dataset(path, config.langs, config.limit_train)
    if config.identity_augment:
        data = concat_datasets(data, identity_dataset())
    if not len(data):
        raise SystemExit(f"no training rows in {path} for languages {config.langs}")
    started = time.monotonic()
    token_ids = tokenize(tokenizer, data.texts, config.max_len)
    emit(
        f"{len(data)} training rows from {path} tokenized in "
        f"{time.monotonic() - started:.0f}s; device {device}, {torch.get_num_threads()} threads"
    )
    return Split(data, token_ids, np.asarray([len(ids) for ids in token_ids]))


def load_valid_split(tokenizer: Any, config: TrainConfig, path: Path) -> Split | None:
    """The validation subset, tokenized; None without a validation file."""
    if not path.exists():
        return None
    valid = validation_subset(read_dataset(path, config.langs), config.valid_max, config.seed)
    return Split(valid, tokenize(tokenizer, valid.texts, config.max_len))


@contextlib.contextmanager
def stop_on_signals() -> Iterator[dict[str, int | None]]:
    """Record SIGTERM/SIGINT instead of dying, so the loop can save and stop between steps."""
    stop: dict[str, int | None] = {"signal": None}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["signal"] = signum

    handlers = {}
    with contextlib.suppress(ValueError):  # not the main thread: no signal handling
        for signum in (signal.SIGTERM, signal.SIGINT):
            handlers[signum] = signal.signal(signum, on_signal)
    try:
        yield stop
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


class Run:
    """One training session of a run directory: its model, data, schedule and state."""

    def __init__(
        self,
        config: TrainConfig,
        data_dir: Path,
        out_dir: Path,
        *,
        progress: bool,
        emit: Callable[[str], None],
    ) -> None:
        import torch

        self.torch, self.config, self.out_dir = torch, config, out_dir
        self.progress, self.emit = progress, emit
        if config.threads > 0:
            torch.set_num_threads(config.threads)
        self.device = pick_device(config.device)
        self.tuner = ThreadTuner(
            torch,
            torch.get_num_threads() if config.threads == 0 and self.device.type == "cpu" else 1,
        )
        base = base_model_dir(config.base)
        self.tokenizer = load_tokenizer(base)
        self.train_path = Path(data_dir) / "train.jsonl"
        self.train = load_train_split(self.tokenizer, config, self.train_path, emit, self.device)
        self.valid = load_valid_split(self.tokenizer, config, Path(data_dir) / "valid.jsonl")
        self.total_steps, self.eval_every = self._schedule()
        self.label_weights = torch.tensor(
            [config.label_weights.get(label, 1.0) for label in LABELS],
            dtype=torch.float32,
            device=self.device,
        )
        self.parts = self._build_model(base)
        self.state = RunState(data_fingerprint=checkpoint.data_fingerprint(self.train_path))
        self.running_loss: float | None = None

    def _schedule(self) -> tuple[int, int]:
        per_epoch = len(epoch_batches(self.train.data, self.train.lengths, self.config, 0))
        total = self.config.max_steps or max(1, math.ceil(self.config.epochs * per_epoch))
        return total, self.config.eval_every or max(1, total // 8)

    def _build_model(self, base: Path) -> dict[str, Any]:
        torch, config = self.torch, self.config
        # Seeded right before the model is built: the new classifier head draws from torch's RNG.
        random.seed(config.seed)
        np.random.seed(config.seed % (2**32))
        torch.manual_seed(config.seed)
        model = load_base_model(base)
        if config.init_checkpoint:
            checkpoint.load_init_checkpoint(model, Path(config.init_checkpoint))
            self.emit(f"initialised from {config.init_checkpoint}")
        model = model.to(self.device)
        model.train()
        optimizer = make_optimizer(torch, model, config)
        scheduler = make_scheduler(torch, optimizer, self.total_steps, config.warmup)
        return {"model": model, "optimizer": optimizer, "scheduler": scheduler}

    def resume(self) -> None:
        """Continue from ``last.pt`` when the run directory has one."""
        if not (self.out_dir / LAST).exists():
            return
        self.state = checkpoint.load_last(self.torch, self.out_dir, self.parts)
        if self.state.data_fingerprint != checkpoint.data_fingerprint(self.train_path):
            self.emit(
                f"warning: {self.train_path} changed since this run started; "
                "the epoch order differs"
            )
        self.emit(
            f"resumed {self.out_dir / LAST} at step {self.state.step}/{self.total_steps} "
            f"(epoch {self.state.epoch}, {self.state.samples_seen} samples seen)"
        )

    def save_last(self) -> None:
        checkpoint.save_last(
            self.torch, self.out_dir, self.parts, self.state, self.config, self.total_steps
        )

    def validate(self) -> None:
        """Score the validation rows, log a history line, keep the weights if they are best."""
        valid, state = self.valid, self.state
        if valid is None or not len(valid.data):
            return
        started = time.monotonic()
        scores = predict_ids(
            self.parts["model"],
            valid.token_ids,
            self.tokenizer.pad_token_id,
            self.config.eval_batch_size,
            self.device,
            progress=self.progress,
        )
        aucs = label_aucs(valid.data.labels, scores)
        metric = mean_auc(aucs)
        record = {
            "step": state.step,
            "epoch": state.epoch,
            "samples_seen": state.samples_seen,
            "train_seconds": round(state.train_seconds, 1),
            "mean_auc": metric,
            "auc": {label: entry["auc"] for label, entry in aucs.items()},
            "eval_seconds": round(time.monotonic() - started, 1),
        }
        with (self.out_dir / HISTORY).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        improved = metric is not None and (state.best_metric is None or metric > state.best_metric)
        self.emit(_validation_line(state.step, metric, aucs, improved))
        if improved:
            state.best_metric, state.best_step = metric, state.step
            checkpoint.save_best(self.parts["model"], self.out_dir, record)

    def step(self, rows: np.ndarray) -> int:
        """One optimizer step on the batch ``rows``; return the tokens it saw."""
        torch, parts, state = self.torch, self.parts, self.state
        self.tuner.before_step(state.step)
        started = time.monotonic()
        inputs = collate(
            [self.train.token_ids[i] for i in rows], self.tokenizer.pad_token_id, self.device
        )
        targets = torch.as_tensor(self.train.data.labels[rows], device=self.device)
        mask = ~torch.isnan(targets)
        logits = parts["model"](**inputs).logits
        loss = masked_bce_loss(logits.float(), targets, mask, self.label_weights)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(parts["model"].parameters(), self.config.grad_clip)
        parts["optimizer"].step()
        parts["scheduler"].step()
        parts["optimizer"].zero_grad(set_to_none=True)

        value = float(loss.detach())
        previous = self.running_loss
        self.running_loss = value if previous is None else 0.98 * previous + 0.02 * value
        state.step += 1
        state.batch_in_epoch += 1
        state.samples_seen += len(rows)
        seconds = time.monotonic() - started
        state.train_seconds += seconds
        tokens = int(inputs["input_ids"].numel())
        self.tuner.after_step(tokens, seconds)
        return tokens

    def progress_bar(self) -> Any:
        from tqdm.auto import tqdm

        return tqdm(
            total=self.total_steps,
            initial=self.state.step,
            desc="training",
            unit="step",
            disable=not self.progress,
            mininterval=2 if sys.stderr.isatty() else 30,
            file=sys.stderr,
            dynamic_ncols=True,
        )

    def loop(self, stop_after_steps: int) -> None:
        """Step until done, validating and saving on schedule; stop early on a signal or time."""
        state, config = self.state, self.config
        session_start = last_saved = time.monotonic()
        session_steps = 0
        batches: list[np.ndarray] = []
        batches_epoch = -1
        bar = self.progress_bar()
        try:
            with stop_on_signals() as stop:
                while state.step < self.total_steps and not state.done:
                    if batches_epoch != state.epoch:
                        batches = epoch_batches(
                            self.train.data, self.train.lengths, config, state.epoch
                        )
                        batches_epoch = state.epoch
                    if state.batch_in_epoch >= len(batches):
                        state.epoch += 1
                        state.batch_in_epoch = 0
                        continue
                    rows = batches[state.batch_in_epoch]
                    self.step(rows)
                    session_steps += 1
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{self.running_loss:.4f}",
                        epoch=state.epoch,
                        sps=f"{state.samples_seen / max(state.train_seconds, 1e-9):.1f}",
                        threads=self.tuner.current,
                        refresh=False,
                    )
                    finished = state.step >= self.total_steps
                    if state.step % self.eval_every == 0 or finished:
                        self.validate()
                        if finished:
                            state.done = True
                        self.save_last()
                        last_saved = time.monotonic()
                    elif time.monotonic() - last_saved > config.save_every_min * 60:
                        self.save_last()
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
                            self.save_last()
                            self.emit(
                                f"stopped at step {state.step}/{self.total_steps}; "
                                "run again to continue"
                            )
                        break
        finally:
            bar.close()

    def finish(self) -> None:
        """Close a run whose schedule is complete; keep final weights when nothing validated."""
        state = self.state
        if state.step >= self.total_steps and not state.done:
            # A resumed run whose schedule was shortened below the steps already taken.
            self.validate()
            state.done = True
            self.save_last()
        if state.done and self.valid is None:
            # No validation data: the final weights are the best we know.
            checkpoint.save_best(
                self.parts["model"], self.out_dir, {"step": state.step}, indent=None
            )
        if state.done:
            self.emit(
                f"training done: {state.step} steps, {state.samples_seen} samples, "
                f"{state.train_seconds / 60:.1f} min; best valid mean AUC {state.best_metric} "
                f"at step {state.best_step}"
            )


def _validation_line(
    step: int, metric: float | None, aucs: dict[str, dict[str, Any]], improved: bool
) -> str:
    if metric is None:
        return f"step {step}: no valid AUC computable"
    shown = " ".join(
        f"{label[:8]}={entry['auc']:.4f}"
        for label, entry in aucs.items()
        if entry["auc"] is not None
    )
    return f"step {step}: valid mean AUC {metric:.4f} ({shown})" + (" *best*" if improved else "")


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
    ``explicit`` names the settings the caller chose on purpose (see ``resolve_config``).
    """
    from tqdm.auto import tqdm

    emit = log or (lambda message: tqdm.write(message, file=sys.stderr))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = resolve_config(out_dir, config, emit, explicit)
    (out_dir / "config.json").write_text(json.dumps(config.to_json(), indent=2), encoding="utf-8")
    run = Run(config, data_dir, out_dir, progress=progress, emit=emit)
    run.resume()
    run.loop(stop_after_steps)
    run.finish()
    return run.state
