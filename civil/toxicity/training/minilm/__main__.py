"""``python -m civil.toxicity.training.minilm train|export ...`` (see cli.py)."""

import sys

from civil.toxicity.training.minilm.cli import main

sys.exit(main())
