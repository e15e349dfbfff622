"""Rows for moderation tests: comments decided through the real pipeline.record path."""

from __future__ import annotations

from typing import Any

from civil.comments import submit_comment
from civil.db import Database
from civil.decision import pipeline
from civil.decision.policy import Policy, Reason, decide
from civil.models import Site
from civil.moderation.accounts import create_moderator
from civil.schema import CommentIn
from civil.scoring import TOXICITY_LABELS
from tests.factories import comment_body


def decided_comment(
    db: Database,
    site_id: str,
    toxicity: float = 0.05,
    spam: float = 0.01,
    hits: list[Reason] | None = None,
    spans: list[list[int]] | None = None,
    **body: Any,
) -> int:
    """Submit a comment and record the decision the site's policy makes for these scores."""
    submitted = submit_comment(db, site_id, CommentIn.model_validate(comment_body(**body)))
    scores = dict.fromkeys(TOXICITY_LABELS, 0.01) | {"toxicity": toxicity}
    with db.session() as session:
        site = session.get(Site, site_id)
        policy = Policy.from_dict(site.policy if site else None)
    decision = decide(policy, toxicity=scores, spam=spam, rule_hits=hits or [], model="test")
    for reason in decision.reasons:
        if reason.code.startswith("toxic") and spans is not None:
            reason.extra["spans"] = spans
    job = pipeline.Job(submitted.comment_id, submitted.revision, "", Policy(), [], spam)
    assert pipeline.record(db, job, decision) is not None
    return submitted.comment_id


def moderator(
    db: Database,
    email: str,
    sites: list[str],
    admin: bool = False,
    password: str = "correct horse 1",
) -> tuple[int, str]:
    """Create an account; return (id, API token)."""
    with db.session() as session:
        row, token = create_moderator(session, email, password, sites, admin)
        return row.id, token
