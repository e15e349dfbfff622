"""The facts the rules read: counts of recent copies stop at a cap a flood cannot push past."""

from __future__ import annotations

from civil.comments import submit_comment
from civil.db import Database
from civil.decision.facts import gather_facts
from civil.decision.policy import Policy
from civil.decision.rules import COUNT_CAP, evaluate_rules
from civil.models import Comment
from civil.schema import CommentIn
from tests.factories import comment_body


def _post(db: Database, site_id: str, text: str, n: int) -> int:
    last = 0
    for _ in range(n):
        last = submit_comment(
            db, site_id, CommentIn.model_validate(comment_body(content=text))
        ).comment_id
    return last


def test_copies_are_counted_exactly_below_the_cap(db: Database, site) -> None:
    last = _post(db, site.site_id, "Buy cheap watches at our shop today", 4)
    with db.session() as session:
        facts = gather_facts(session, session.get(Comment, last), 10)
    assert facts.same_text_recent == 3


def test_a_flood_of_copies_counts_only_up_to_the_cap(db: Database, site) -> None:
    last = _post(db, site.site_id, "Buy cheap watches at our shop today", COUNT_CAP + 20)
    with db.session() as session:
        comment = session.get(Comment, last)
        facts = gather_facts(session, comment, 10)
        hits = evaluate_rules(
            Policy(), content=comment.content, content_type="text/plain", honeypot=None, facts=facts
        )
    assert facts.same_text_recent == COUNT_CAP
    [repeat] = [h for h in hits if h.code == "spam_repeat"]
    assert f"posted {COUNT_CAP} or more time(s)" in repeat.detail
