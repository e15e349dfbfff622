"""Toxicity scoring: the linear model, Detoxify-format transformers, ONNX, the cascade.

Training and evaluation live in ``civil.toxicity.training`` (the ``train`` extra).
"""

from civil.scoring import TOXICITY_LABELS

__all__ = ["TOXICITY_LABELS"]
