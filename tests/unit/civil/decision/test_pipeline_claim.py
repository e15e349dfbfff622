"""Claiming a batch to score, and the poison-comment check that goes with it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import update

from civil.comments import submit_comment
from civil.decision import pipeline
from civil.models import Comment, utcnow
from civil.schema import CommentIn
from civil.scoring import TOXICITY_LABELS, ScorerUnavailable
from tests.factories import comment_body


class CalmScorer:
    name = "test:calm"

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [dict.fromkeys(TOXICITY_LABELS, 0.01) for _ in texts]


def calm() -> CalmScorer:
    return CalmScorer()


def submitted(db, site, attempts=0):
    sub = submit_comment(db, site.site_id, CommentIn.model_validate(comment_body()))
    with db.session() as session:
        session.execute(
            update(Comment).where(Comment.id == sub.comment_id).values(score_attempts=attempts)
        )
    return sub.comment_id, sub.revision


def claim(db, first, max_attempts=3):
    return pipeline.claim_scoring(db, first, calm, size=1, lease_s=60, max_attempts=max_attempts)


def test_a_comment_under_the_limit_is_claimed_with_the_real_scorer(db, site):
    first = submitted(db, site, attempts=2)
    got = claim(db, first)
    assert got is not None and got.batch == [first] and got.scorer_source is calm
    with db.session() as session:
        comment = session.get(Comment, first[0])
        assert comment.score_attempts == 3 and comment.claimed_until is not None


def test_a_poison_comment_is_decided_by_the_failure_policy(db, site):
    first = submitted(db, site, attempts=3)
    got = claim(db, first)
    assert got is not None and got.batch == [first]
    with pytest.raises(ScorerUnavailable, match="scoring failed 3 times"):
        got.scorer_source()
    [decided] = pipeline.score_comments(db, got.batch, got.scorer_source)
    assert decided.action == "hold" and decided.reasons[0] == "scorer_unavailable"
    with db.session() as session:
        comment = session.get(Comment, first[0])
        assert comment.status == "held" and comment.score_attempts == 4
        assert "scoring failed 3 times" in comment.decision["reasons"][0]["detail"]


def test_a_comment_that_is_gone_claims_nothing(db, site):
    other = submitted(db, site)
    with db.session() as session:  # backlog a batch would take along
        session.execute(
            update(Comment)
            .where(Comment.id == other[0])
            .values(enqueued_at=utcnow() - timedelta(minutes=1))
        )
    gone = (other[0] + 1000, 1)
    assert pipeline.claim_scoring(db, gone, calm, size=10, lease_s=60, max_attempts=3) is None
    with db.session() as session:
        assert session.get(Comment, other[0]).score_attempts == 0


def test_a_poison_comment_is_claimed_alone_and_the_backlog_waits(db, site):
    healthy = submitted(db, site)
    with db.session() as session:  # backlog a batch would take along
        session.execute(
            update(Comment)
            .where(Comment.id == healthy[0])
            .values(enqueued_at=utcnow() - timedelta(minutes=1))
        )
    poison = submitted(db, site, attempts=3)
    got = pipeline.claim_scoring(db, poison, calm, size=10, lease_s=60, max_attempts=3)
    assert got is not None and got.batch == [poison]
    # A healthy comment's batch takes the backlog along, with the real scorer.
    again = pipeline.claim_scoring(
        db, submitted(db, site), calm, size=10, lease_s=60, max_attempts=3
    )
    assert again is not None and healthy in again.batch and again.scorer_source is calm
    with db.session() as session:
        assert session.get(Comment, healthy[0]).score_attempts == 1
