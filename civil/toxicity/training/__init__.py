"""Training and evaluation of the toxicity models; production code never imports this package."""

from civil.extras import require_extra

# Training needs the `train` extra; without it, fail here with a message that names it rather
# than deep inside a run.
require_extra("train", "sklearn", "scipy", "tqdm", "safetensors")
