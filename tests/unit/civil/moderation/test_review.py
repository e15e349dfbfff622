"""What a moderator sees of one comment: highlights, thresholds, author history, parent."""

from __future__ import annotations

from civil.db import Database
from civil.models import Comment
from civil.moderation import actions, review
from civil.moderation.accounts import Identity
from civil.sites import Credentials
from tests.support.moderation import decided_comment, moderator


def who(db: Database, site_ids: list[str]) -> Identity:
    mod_id, _ = moderator(db, "alice@example.org", site_ids)
    return Identity(mod_id, "alice@example.org", False, frozenset(site_ids))


def test_item_view_has_scores_thresholds_spans_and_history(db: Database, site: Credentials) -> None:
    author = {"id": "u-h", "name": "Hal"}
    earlier = decided_comment(db, site.site_id, toxicity=0.7, author=author)
    with db.session() as session:
        actions.act(session, who(db, [site.site_id]), earlier, "reject", "offensive")
    comment_id = decided_comment(
        db,
        site.site_id,
        toxicity=0.7,
        spans=[[4, 10]],
        author=author,
        content="You idiots, honestly.",
        inline_quote="the council voted",
    )
    with db.session() as session:
        view = review.item_view(session, session.get(Comment, comment_id))  # type: ignore[arg-type]
    assert [p for p, marked in view["segments"] if marked] == ["idiots"]
    toxicity = next(s for s in view["scores"] if s["label"] == "toxicity")
    # The default policy never auto-rejects plain toxicity: a hold threshold, no reject one.
    assert (toxicity["crossed"], toxicity["hold"], toxicity["reject"]) == ("hold", 0.6, None)
    assert view["author"]["counts"]["rejected"] == 1 and view["author"]["total"] == 2
    assert view["author"]["recent_rejection_rate"] == 1.0
    assert view["inline_quote"] == "the council voted"
    assert [r["code"] for r in view["reasons"]] == ["toxic"]


def test_reply_shows_its_parent_and_json_carries_spans(db: Database, site: Credentials) -> None:
    decided_comment(db, site.site_id, id="p-9", author={"id": "u-p", "name": "Pat"})
    reply = decided_comment(
        db, site.site_id, toxicity=0.7, parent_id="p-9", spans=[[0, 3]], content="Bah, no."
    )
    with db.session() as session:
        view = review.item_view(session, session.get(Comment, reply))  # type: ignore[arg-type]
    assert view["parent"]["author"] == "Pat" and view["parent"]["comment_id"] == "p-9"
    out = review.queue_item_json(view)
    assert out["highlight_spans"] == [[0, 3]] and "segments" not in out
    assert out["received_at"].endswith("Z")
