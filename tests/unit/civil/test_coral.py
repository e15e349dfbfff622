"""civil.coral's pure parts: the signature header, active secrets, the wait, the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civil import coral
from civil.models import Site

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_signature_header_parts():
    header = " sha256=ABCD , sha1=ffff,sha256=,sha256=0123"
    assert coral.signatures(header) == ["abcd", "0123"]
    assert coral.signatures(None) == [] and coral.signatures("") == []


def test_only_unexpired_secrets_verify():
    config = {
        "secrets": [
            {"secret": "old", "inactive_at": (NOW - timedelta(seconds=1)).isoformat()},
            {"secret": "rotated", "inactive_at": (NOW + timedelta(hours=1)).isoformat()},
            {"secret": "fresh", "inactive_at": None},
        ]
    }
    assert coral.active_secrets(config, NOW) == ["rotated", "fresh"]
    assert coral.active_secrets(None, NOW) == []


def test_the_wait_keeps_time_back_for_the_answer():
    def site(timeout_ms):
        return Site(id="s", coral={"secrets": [], "timeout_ms": timeout_ms})

    assert coral.wait_seconds(site(1000)) == 0.8
    assert coral.wait_seconds(site(200)) == 0.1
    assert coral.wait_seconds(site(100)) == 0.0
    assert coral.wait_seconds(Site(id="s", coral=None)) == 0.4  # the 500 ms default


def test_a_hold_without_toxic_or_spam_reasons_carries_no_flag():
    view = {
        "status": "held",
        "decision": {"reasons": [{"code": "premoderation", "detail": "site pre-moderates"}]},
    }
    assert coral.answer(view) == {"status": "SYSTEM_WITHHELD"}
    assert coral.answer({"status": "pending"}) is None
    rejected = {
        "status": "rejected",
        "decision": {
            "reasons": [
                {"code": "clean", "detail": "x"},
                {"code": "banned_word", "detail": "banned word: grapefruit", "action": "reject"},
            ]
        },
    }
    assert coral.answer(rejected) == {
        "status": "REJECTED",
        "rejectionReason": {
            "code": "BANNED_WORD",
            "detailedExplanation": "banned word: grapefruit",
        },
    }
