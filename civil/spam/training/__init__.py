"""Training and evaluation of the spam model; imports the inference code, never imported by it."""

from civil.extras import require_extra

# Training needs the `train` extra; without it, fail on import with a message that names it.
require_extra("train", "sklearn", "scipy")
