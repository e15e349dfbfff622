"""``python -m civil.toxicity.training.minilm train|export ...``."""

import sys

from civil.toxicity.training.minilm.train import main

sys.exit(main())
