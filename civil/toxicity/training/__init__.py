"""Training, tuning and evaluation of the toxicity models: they import the inference code."""
