"""Civil's own toxicity models: data preparation, the linear model, evaluation."""

from civil.scoring import TOXICITY_LABELS

__all__ = ["TOXICITY_LABELS"]
