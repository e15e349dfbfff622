"""The deliveries API: replay answers 202 once committed, whether or not the broker takes it."""

from __future__ import annotations

from dataclasses import replace

from civil.comments import submit_comment
from civil.delivery import events
from civil.models import Comment, Event
from civil.schema import CommentIn
from service import create_app
from tests.factories import comment_body

# Nothing listens on port 1: the producer's connection is refused at once.
DOWN_BROKER = "redis://127.0.0.1:1/0"


def _dead_event(db, site) -> str:
    sub = submit_comment(db, site.site_id, CommentIn.model_validate(comment_body()))
    with db.session() as s:
        comment = s.get(Comment, sub.comment_id)
        comment.status, comment.decision = "approved", {"action": "approve"}
        s.flush()
        [event] = events.build_events(s, comment)
        event.status = "dead"
        return event.id


def test_replay_with_the_broker_down_is_committed_and_answers_202(settings, db, site, auth):
    event_id = _dead_event(db, site)
    client = create_app(replace(settings, broker_url=DOWN_BROKER)).test_client()
    r = client.post(f"/v1/sites/{site.site_id}/deliveries/{event_id}/replay", headers=auth)
    assert r.status_code == 202
    assert r.json["queued"] is False and "dispatcher" in r.json["message"]
    assert r.json["status"] == "pending"
    with db.session() as s:
        assert s.get(Event, event_id).status == "pending"  # the dispatcher will send it


def test_replay_with_the_broker_up_says_queued(client, db, site, auth):
    event_id = _dead_event(db, site)
    r = client.post(f"/v1/sites/{site.site_id}/deliveries/{event_id}/replay", headers=auth)
    assert r.status_code == 202 and r.json["queued"] is True and r.json["message"] == "queued"
