"""Spam labels for texts Civil never stored (Akismet submit-* of an unseen comment)."""

from __future__ import annotations

import pytest

from civil.feedback import record_spam_text_label, site_labels


def test_text_label_is_stored_for_the_site_without_a_comment(db, site):
    with db.session() as session:
        record_spam_text_label(
            session,
            site.site_id,
            "Buy now",
            "spam",
            "akismet",
            author_email="bot@example.org",
            ip="192.0.2.1",
        )
    with db.session() as session:
        [row] = site_labels(session, site.site_id)
        assert (row.comment_id, row.label, row.source, row.text) == (
            None,
            "spam",
            "akismet",
            "Buy now",
        )
        assert (row.author_email, row.ip, row.kind) == ("bot@example.org", "192.0.2.1", "spam")


@pytest.mark.parametrize(("label", "source"), [("maybe", "akismet"), ("spam", "nobody")])
def test_text_label_refuses_unknown_labels_and_sources(db, site, label, source):
    with db.session() as session, pytest.raises(ValueError):
        record_spam_text_label(session, site.site_id, "x", label, source)
