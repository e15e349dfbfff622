"""Coral's phase against a running deployment: a real worker decides before Coral's timeout."""

from __future__ import annotations

import time

import pytest

from civil import admin
from civil.scoring import TOXICITY_LABELS
from tests.support.coral import (
    Phase,
    SigningSecret,
    fetch_options,
    moderation_request,
    new_signing_secret,
    read_answer,
)

LENIENT = {
    "thresholds": dict.fromkeys(TOXICITY_LABELS, 1.0),
    "hold_thresholds": dict.fromkeys(TOXICITY_LABELS, 1.0),
    "spam_threshold": 1.0,
    "spam_hold_threshold": 1.0,
    "spam_discard_threshold": 1.0,
    "banned_words": ["grapefruit"],
}


@pytest.fixture(params=["sqlite-embedded", "postgresql-redis"])
def stack(request, make_stack):
    if request.param == "sqlite-embedded":
        return make_stack()
    return request.getfixturevalue("pg_redis_stack")


def test_corals_request_gets_civils_decision_within_its_timeout(stack) -> None:
    stack.start_worker()
    creds = stack.site(**LENIENT)
    secret = new_signing_secret()
    with stack.db.session() as session:
        admin.set_coral_secret(session, "test", creds.site_id, secret, 0, timeout_ms=10_000)
    phase = Phase(f"/v1/sites/{creds.site_id}/coral", [SigningSecret(secret)], timeout_ms=10_000)
    for body, expected in (
        ("<p>The new bike lanes look great.</p>", "APPROVED"),
        ("<p>Anyone else want a grapefruit?</p>", "REJECTED"),
    ):
        data, headers = fetch_options(phase.signing_secrets, moderation_request(body_html=body))
        started = time.monotonic()
        r = stack.client.post(phase.url, data=data, headers=headers)
        elapsed = time.monotonic() - started
        assert r.status_code == 200, (r.status_code, r.data, stack.logs())
        assert elapsed < phase.timeout_ms / 1000
        answer = read_answer(r.status_code, r.get_data(as_text=True))
        assert answer is not None and answer["status"] == expected, r.json
        if expected == "REJECTED":
            assert r.json["rejectionReason"]["code"] == "BANNED_WORD"
            assert "grapefruit" in r.json["rejectionReason"]["detailedExplanation"]
