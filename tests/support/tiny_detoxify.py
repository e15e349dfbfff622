"""Build a tiny random-weight Detoxify checkpoint locally, without any network access.

Layout (the convention of civil/toxicity/detoxify.py): ``<dir>/tiny.ckpt`` holds the Detoxify config
and the weights; ``<dir>/tiny/`` holds the Hugging Face config.json, vocab.txt and
tokenizer_config.json.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification

# The class names of Detoxify's "original" checkpoint, before Detoxify standardises them.
CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
# Small enough that ordinary test texts need several windows.
MAX_POSITIONS = 64
HUB_MODEL_TYPE = "bert-base-uncased"
SEED = 1234

_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# fmt: off
_WORDS = [
    "the", "a", "an", "is", "are", "was", "you", "your", "we", "they", "he", "she", "it", "i",
    "not", "and", "or", "but", "this", "that", "comment", "people", "post", "article", "thanks",
    "great", "good", "bad", "nice", "idiot", "stupid", "hate", "love", "kill", "dumb", "awful",
    "wonderful", "agree", "disagree", "really", "very",
]
# fmt: on


# BERT-base's shape (Detoxify's `original` architecture): what the bench's peer runs.
BERT_BASE = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "initializer_range": 0.02,
}


def build_tiny_checkpoint(
    dirpath: Path, *, model_type: str | None = HUB_MODEL_TYPE, shape: dict | None = None
) -> Path:
    """Write the tiny checkpoint and its config/tokenizer folder into ``dirpath``; return it.

    ``model_type`` is what the checkpoint records as its base model: a hub name, as the
    released Detoxify checkpoints do, or None for the absolute path of the local folder.
    """
    dirpath.mkdir(parents=True, exist_ok=True)
    checkpoint = dirpath / "tiny.ckpt"
    hf_dir = dirpath / "tiny"
    hf_dir.mkdir(exist_ok=True)

    # Every character has a word-start and a continuation piece, so any ASCII text
    # tokenizes into real, varied tokens instead of one [UNK] per word.
    characters = string.ascii_lowercase + string.digits + string.punctuation
    vocab = _SPECIAL_TOKENS + _WORDS + list(characters) + [f"##{c}" for c in characters]
    (hf_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    layers = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": MAX_POSITIONS,
        # Far wider than BERT's 0.02, so that different texts get visibly different scores.
        "initializer_range": 0.5,
        **(shape or {}),
    }
    tokenizer_config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "model_max_length": layers["max_position_embeddings"],
    }
    (hf_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")

    config = BertConfig(vocab_size=len(vocab), **layers)
    config.num_labels = len(CLASSES)
    config.save_pretrained(hf_dir)
    torch.manual_seed(SEED)
    model = BertForSequenceClassification(config)

    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": model_type or str(hf_dir.resolve()),
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": len(CLASSES),
                    }
                },
                "dataset": {"args": {"classes": CLASSES}},
            },
            "state_dict": model.state_dict(),
        },
        checkpoint,
    )
    return checkpoint
