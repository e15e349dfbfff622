"""Akismet fields as Civil comments, Civil decisions as Akismet verdicts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from civil.comments import submit_comment
from civil.compat.akismet import (
    AkismetInvalid,
    comment_in,
    external_id,
    find_submitted,
    key_from,
    provisional_decision,
    spam_item,
    transient_comment,
    usage,
    verdict,
)
from civil.models import Comment, SpamFingerprint

FIELDS = {
    "blog": "https://planet.example",
    "user_ip": "203.0.113.9",
    "user_agent": "Mozilla/5.0",
    "permalink": "https://planet.example/a/1",
    "comment_type": "comment",
    "comment_author": "Ann",
    "comment_author_email": "Ann@Example.org",
    "comment_author_url": "https://ann.example",
    "comment_content": "Nice piece.",
    "comment_date_gmt": "2026-11-24 10:00:00",
    "blog_lang": "en_us, fr_ca",
}


def test_key_comes_from_the_body_then_a_key_shaped_host_label():
    assert key_from({"api_key": "civ_a"}, "civ_b.civil.example") == "civ_a"
    assert key_from({"key": "civ_a"}, "") == "civ_a"
    assert key_from({}, "civ_Ab-9.civil.example:8000") == "civ_Ab-9"
    assert key_from({}, "rest.akismet.com") is None
    assert key_from({}, "127.0.0.1:8000") is None


def test_comment_fields_map_onto_a_civil_comment():
    data = comment_in(FIELDS, max_chars=100)
    assert data.content == "Nice piece." and data.author.ip == "203.0.113.9"
    assert data.author.name == "Ann" and data.author.url == "https://ann.example"
    assert data.author.user_agent == "Mozilla/5.0"
    assert str(data.article.url) == "https://planet.example/a/1"
    assert data.language == "en-us"
    # comment_date_gmt without an offset is GMT.
    assert data.created_at == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert data.honeypot is None


def test_the_named_honeypot_field_is_the_honeypot():
    data = comment_in({**FIELDS, "honeypot_field_name": "hp", "hp": "filled"}, max_chars=100)
    assert data.honeypot == "filled"
    empty = comment_in({**FIELDS, "honeypot_field_name": "hp", "hp": ""}, max_chars=100)
    assert empty.honeypot is None


def test_ids_are_stable_per_submission_and_change_with_the_text():
    assert external_id(FIELDS) == external_id(dict(FIELDS))
    assert external_id(FIELDS) != external_id({**FIELDS, "comment_content": "Other."})
    assert comment_in(FIELDS, 100).id == external_id(FIELDS)
    # The same person is the same author whatever the comment.
    other = comment_in({**FIELDS, "comment_content": "Again."}, 100)
    assert other.author.id == comment_in(FIELDS, 100).author.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"user_ip": ""}, "Missing required field: user_ip."),
        ({"blog": " "}, "Missing required field: blog."),
        ({"user_ip": "not-an-ip"}, "Invalid value for: user_ip."),
        ({"comment_date_gmt": "yesterday"}, "comment_date_gmt is not an ISO 8601 date"),
        ({"comment_content": "x" * 101}, "comment_content is longer than 100 characters."),
    ],
)
def test_bad_fields_are_invalid_with_a_reason(change, message):
    with pytest.raises(AkismetInvalid) as caught:
        comment_in({**FIELDS, **change}, max_chars=100)
    assert str(caught.value) == message


def test_blank_content_is_allowed_but_kept_blank():
    assert comment_in({**FIELDS, "comment_content": ""}, 100).content == ""


def _reason(code, action):
    return {"code": code, "action": action, "detail": ""}


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        ([_reason("clean", "approve")], (False, False)),
        # Toxic-only rejects are not spam.
        ([_reason("toxic", "reject"), _reason("banned_word", "reject")], (False, False)),
        ([_reason("rate_ip", "hold")], (False, False)),
        ([_reason("spam", "hold")], (True, False)),
        ([_reason("spam_links", "hold"), _reason("toxic", "reject")], (True, False)),
        ([_reason("spam_honeypot", "reject"), _reason("spam_discard", "reject")], (True, True)),
    ],
)
def test_verdict_counts_spam_reasons_only(reasons, expected):
    assert verdict({"reasons": reasons}) == expected
    assert verdict(None) == (False, False)


def _provisional(session, settings, site_id, data, policy=None):
    comment = transient_comment(session, site_id, data)
    decision = provisional_decision(session, settings, policy, comment, spam_item(data))
    session.expunge_all()
    return decision


def test_provisional_decision_runs_rules_and_spam_scorer_without_storing(db, site, settings):
    honeypot = comment_in({**FIELDS, "honeypot_field_name": "hp", "hp": "x"}, 100)
    with db.session() as session:
        decision = _provisional(
            session, settings, site.site_id, honeypot, {"spam_discard_threshold": 0.9}
        )
    codes = {r.code for r in decision.reasons}
    assert {"spam_honeypot", "spam_discard"} <= codes and decision.model == "rules+spam"
    with db.session() as session:
        assert session.query(Comment).count() == 0
        assert session.query(SpamFingerprint).count() == 0  # nothing recorded for later
    clean = comment_in(FIELDS, 100)
    with db.session() as session:
        decision = _provisional(session, settings, site.site_id, clean)
    assert verdict(decision.to_dict()) == (False, False)


def test_provisional_spam_comes_from_the_spam_scorer_not_the_heuristic(db, site, settings):
    # Polite-looking link spam with no honeypot: the real scorer explains itself in signals.
    pitch = comment_in(
        {
            **FIELDS,
            "comment_author": "Best Deals",
            "comment_author_url": "https://cheap-pills.example",
            "comment_content": "Buy cheap viagra online, no prescription needed, free shipping! "
            "https://bit.ly/3xYz https://cheap-pills.example/order",
        },
        1000,
    )
    with db.session() as session:
        decision = _provisional(session, settings, site.site_id, pitch)
    [spam] = [r for r in decision.reasons if r.code.startswith("spam") and "signals" in r.extra]
    assert decision.scores["spam"] >= 0.6 and spam.extra["signals"]
    assert verdict(decision.to_dict())[0] is True


def test_a_repeat_of_a_stored_text_counts_for_the_provisional_decision(db, site, settings):
    submit_comment(db, site.site_id, comment_in(FIELDS, 100))
    again = comment_in({**FIELDS, "comment_date_gmt": "2026-11-24 10:05:00"}, 100)
    with db.session() as session:
        decision = _provisional(session, settings, site.site_id, again)
    assert "spam_repeat" in {r.code for r in decision.reasons}


def test_submitted_comment_is_found_by_id_then_by_text_and_author(db, site):
    stored = submit_comment(db, site.site_id, comment_in(FIELDS, 100))
    # Same fields: the same id.
    with db.session() as session:
        assert (
            find_submitted(session, site.site_id, comment_in(FIELDS, 100)).id == stored.comment_id
        )
    # A report that drops the date and the permalink still finds the text by its author's email.
    loose = {k: v for k, v in FIELDS.items() if k not in ("comment_date_gmt", "permalink")}
    with db.session() as session:
        found = find_submitted(session, site.site_id, comment_in(loose, 100))
        assert found is not None and found.id == stored.comment_id
        other = comment_in({**loose, "comment_author_email": "bob@example.org"}, 100)
        assert find_submitted(session, site.site_id, other) is None
        assert (
            find_submitted(
                session, site.site_id, comment_in({**loose, "comment_content": "New"}, 100)
            )
            is None
        )


def test_usage_counts_this_months_comments(db, site):
    with db.session() as session:
        assert usage(session, site.site_id)["usage"] == 0
    submit_comment(db, site.site_id, comment_in(FIELDS, 100))
    with db.session() as session:
        answer = usage(session, site.site_id)
        assert answer == {"limit": "none", "usage": 1, "percentage": "0.00", "throttled": False}
        next_month = usage(session, site.site_id, now=datetime(2099, 1, 5, tzinfo=UTC))
        assert next_month["usage"] == 0
