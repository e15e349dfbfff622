"""Every number in the spam model card, as one JSON file.

    python -m civil.spam.training.report models/spam/metrics.json

Leave-one-video-out, the hand-written article comments and calibration
(``civil.spam.training.evaluate.report``), plus the article-comment sets built from real
comments, scored leave-one-source-out (``civil.spam.training.article_eval``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from civil.spam.training import evaluate
from civil.spam.training.article_eval import leave_one_source_out


def full_report(out_path: Path | None = None) -> dict:
    """The whole report (written to ``out_path`` when given)."""
    result = evaluate.report()
    result["article_comments_leave_one_source_out"] = leave_one_source_out()
    if out_path is not None:
        Path(out_path).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    print(json.dumps(full_report(Path(sys.argv[1]) if len(sys.argv) > 1 else None), indent=2))
