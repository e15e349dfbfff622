"""The moderator JSON API: token auth, the queue, actions, bulk, one error shape."""

from __future__ import annotations

from sqlalchemy import select

from civil.models import AuditEntry, Comment, Event
from civil.sites import create_site
from tests.support.moderation import decided_comment, moderator


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_queue_needs_a_moderator_token(client, site, auth):
    r = client.get("/v1/queue")
    assert r.status_code == 401 and set(r.json) == {"error", "message", "details"}
    # A site's API key is not a moderator token.
    assert client.get("/v1/queue", headers=auth).status_code == 401


def test_queue_lists_held_items_with_context(client, db, site):
    comment_id = decided_comment(db, site.site_id, toxicity=0.7, spans=[[0, 6]])
    decided_comment(db, site.site_id, toxicity=0.01)
    _, token = moderator(db, "m@example.org", [site.site_id])
    r = client.get("/v1/queue", headers=bearer(token))
    assert r.status_code == 200
    [item] = r.json["items"]
    assert item["id"] == comment_id and item["status"] == "held"
    assert item["highlight_spans"] == [[0, 6]]
    assert item["article"]["title"] and item["author"]["counts"]["held"] == 1
    assert any(s["label"] == "toxicity" and s["crossed"] == "hold" for s in item["scores"])
    bad = client.get("/v1/queue?view=everything", headers=bearer(token))
    assert bad.status_code == 422 and bad.json["error"] == "validation_failed"


def test_paging_follows_next_cursor(client, db, site):
    ids = [decided_comment(db, site.site_id, toxicity=0.7) for _ in range(5)]
    _, token = moderator(db, "m@example.org", [site.site_id])
    seen, url = [], "/v1/queue?limit=2"
    while url:
        body = client.get(url, headers=bearer(token)).json
        seen += [i["id"] for i in body["items"]]
        url = f"/v1/queue?limit=2&cursor={body['next_cursor']}" if body["next_cursor"] else None
    assert seen == ids


def test_reject_action_by_internal_id_queues_a_delivery(client, db, site, settings):
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    _, token = moderator(db, "m@example.org", [site.site_id])
    r = client.post(
        f"/v1/comments/{comment_id}/actions",
        json={"action": "reject", "reason": "abusive", "note": "personal attack"},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.json
    assert (r.json["before"], r.json["status"]) == ("held", "rejected")
    [event_id] = r.json["events"]
    with db.session() as session:
        event = session.get(Event, event_id)
        assert event is not None and event.type == "comment.moderated"
        assert event.payload["data"]["status"] == "rejected"
    delivery = sorted((settings.broker_dir / "queue").glob("*.delivery.msg"))
    assert len(delivery) == 1


def test_action_by_site_comment_id(client, db, site):
    decided_comment(db, site.site_id, toxicity=0.7, id="host-42")
    _, token = moderator(db, "m@example.org", [site.site_id])
    r = client.post(
        f"/v1/comments/host-42/actions?site_id={site.site_id}",
        json={"action": "spam"},
        headers=bearer(token),
    )
    assert r.status_code == 200 and r.json["comment_id"] == "host-42"
    assert "spam:spam" in r.json["labels"]
    missing = client.post(
        "/v1/comments/host-42/actions", json={"action": "spam"}, headers=bearer(token)
    )
    assert missing.status_code == 422


def test_bad_action_input_is_refused_and_nothing_stored(client, db, site):
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    _, token = moderator(db, "m@example.org", [site.site_id])
    url = f"/v1/comments/{comment_id}/actions"
    r = client.post(url, json={"action": "reject"}, headers=bearer(token))
    assert r.status_code == 422 and r.json["details"]["allowed"][0] == "offensive"
    r = client.post(url, data="x", headers=bearer(token))
    assert r.status_code == 415
    r = client.post(url, json={"action": "approve", "note": 5}, headers=bearer(token))
    assert r.status_code == 422
    with db.session() as session:
        assert session.get(Comment, comment_id).status == "held"
        assert session.scalar(select(AuditEntry.id)) is None


def test_another_sites_comment_is_not_found(client, db, site):
    with db.session() as session:
        other = create_site(session, name="Other", callback_url=None, allow_private=True)
    theirs = decided_comment(db, other.site_id, toxicity=0.7)
    _, token = moderator(db, "m@example.org", [site.site_id])
    r = client.post(
        f"/v1/comments/{theirs}/actions", json={"action": "approve"}, headers=bearer(token)
    )
    assert r.status_code == 404
    assert client.get("/v1/queue", headers=bearer(token)).json["items"] == []


def test_claim_conflict_answers_409(client, db, site):
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    _, alice = moderator(db, "alice@example.org", [site.site_id])
    _, bob = moderator(db, "bob@example.org", [site.site_id])
    url = f"/v1/comments/{comment_id}/actions"
    assert client.post(url, json={"action": "claim"}, headers=bearer(alice)).status_code == 200
    r = client.post(url, json={"action": "approve"}, headers=bearer(bob))
    assert r.status_code == 409 and r.json["error"] == "claimed"
    assert client.post(url, json={"action": "release"}, headers=bearer(alice)).status_code == 200
    assert client.post(url, json={"action": "approve"}, headers=bearer(bob)).status_code == 200


def test_bulk_dry_run_then_apply(client, db, site):
    author = {"id": "u-b", "name": "B", "ip": "192.0.2.9"}
    ids = [decided_comment(db, site.site_id, toxicity=0.7, author=author) for _ in range(3)]
    decided_comment(db, site.site_id, toxicity=0.7)
    _, token = moderator(db, "m@example.org", [site.site_id])
    body = {"filter": {"ip": "192.0.2.9"}, "action": "reject", "reason": "spam"}
    dry = client.post("/v1/queue/bulk", json=body, headers=bearer(token))
    assert dry.status_code == 200 and dry.json["matched"] == 3 and dry.json["applied"] == 0
    stale = client.post(
        "/v1/queue/bulk", json={**body, "dry_run": False, "expected": 5}, headers=bearer(token)
    )
    assert stale.status_code == 409 and stale.json["error"] == "bulk_changed"
    done = client.post(
        "/v1/queue/bulk", json={**body, "dry_run": False, "expected": 3}, headers=bearer(token)
    )
    assert done.json["applied"] == 3
    with db.session() as session:
        assert {session.get(Comment, i).status for i in ids} == {"rejected"}
    bad = client.post(
        "/v1/queue/bulk", json={**body, "filter": {"colour": "red"}}, headers=bearer(token)
    )
    assert bad.status_code == 422


def test_openapi_documents_the_moderator_api(client):
    spec = client.get("/openapi.json").json
    assert {"/v1/queue", "/v1/comments/{id}/actions", "/v1/queue/bulk"} <= set(spec["paths"])
    assert "moderatorToken" in spec["components"]["securitySchemes"]


def test_intake_needs_no_csrf_token(client, site, auth):
    from tests.factories import comment_body

    r = client.post(f"/v1/sites/{site.site_id}/comments", json=comment_body(), headers=auth)
    assert r.status_code == 202
