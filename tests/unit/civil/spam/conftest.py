from __future__ import annotations

import pytest

from civil.spam.scorer import SpamScorer
from civil.spam.textmodel import DEFAULT_DIR, SpamTextModel


@pytest.fixture(scope="session")
def scorer() -> SpamScorer:
    return SpamScorer(SpamTextModel.load(DEFAULT_DIR))


BIKE = {
    "article_title": "Council approves protected bike lanes on Main Street",
    "article_text": (
        "The city council voted 7-2 on Tuesday to build protected bike lanes along Main "
        "Street, removing about 40 parking spaces. Shop owners worry about deliveries; cycling "
        "groups say the lanes will make the route safe for children."
    ),
}
