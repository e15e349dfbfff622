"""Feedback labels: stored per site with a snapshot of what was labelled."""

from __future__ import annotations

import pytest

from civil.comments import submit_comment
from civil.db import Database
from civil.feedback import record_spam_label, record_toxicity_label, site_labels
from civil.models import Comment
from civil.schema import CommentIn
from civil.sites import Credentials, create_site
from tests.factories import comment_body


def _stored(db: Database, site_id: str, **overrides: object) -> int:
    body = comment_body(**overrides)
    return submit_comment(db, site_id, CommentIn.model_validate(body)).comment_id


def test_spam_label_keeps_a_snapshot_and_stays_on_its_site(db: Database, site: Credentials) -> None:
    comment_id = _stored(db, site.site_id, content="Cheap pills at pills.example")
    with db.session() as session:
        other = create_site(session, name="Other", callback_url=None, allow_private=True)
        comment = session.get(Comment, comment_id)
        assert comment is not None
        record_spam_label(session, comment, "spam", "moderator", actor="mod@example.org")
        session.commit()
    with db.session() as session:
        [row] = site_labels(session, site.site_id)
        assert (row.label, row.source, row.actor) == ("spam", "moderator", "mod@example.org")
        assert row.text == "Cheap pills at pills.example"
        assert row.author_email == "reader@example.org"
        assert site_labels(session, other.site_id) == []


def test_bad_labels_are_refused(db: Database, site: Credentials) -> None:
    comment_id = _stored(db, site.site_id)
    with db.session() as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        with pytest.raises(ValueError, match="spam label"):
            record_spam_label(session, comment, "eggs", "site")
        with pytest.raises(ValueError, match="source"):
            record_spam_label(session, comment, "ham", "somebody")
        with pytest.raises(ValueError, match="between 0 and 1"):
            record_toxicity_label(session, site.site_id, "x", "toxicity", 1.5, "perspective")


def test_toxicity_label_without_a_stored_comment(db: Database, site: Credentials) -> None:
    with db.session() as session:
        record_toxicity_label(session, site.site_id, "you fool", "insult", 0.8, "perspective")
        session.commit()
        [row] = site_labels(session, site.site_id, kind="toxicity")
        assert (row.comment_id, row.label, row.value) == (None, "insult", 0.8)
