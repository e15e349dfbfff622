"""What the model sees: the rows of each epoch, batches of similar length, token ids, tensors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from civil.toxicity.dataset import Dataset
from civil.toxicity.training.minilm.config import LABELS, TrainConfig

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
    """Pad token ids into the model's input tensors on ``device``."""
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
