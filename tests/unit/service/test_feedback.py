"""POST /v1/sites/{site}/comments/{id}/feedback: auth, validation, one error shape, learning."""

from __future__ import annotations

from sqlalchemy import func, select

from civil.models import Feedback, SpamReputation
from civil.sites import create_site
from tests.factories import comment_body


def _post_comment(client, site, auth, **overrides):
    body = comment_body(**overrides)
    assert (
        client.post(f"/v1/sites/{site.site_id}/comments", json=body, headers=auth).status_code
        == 202
    )
    return body["id"]


def _feedback(client, site, comment_id, auth, **kwargs):
    return client.post(
        f"/v1/sites/{site.site_id}/comments/{comment_id}/feedback", headers=auth, **kwargs
    )


def _count(db, model):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_spam_label_is_stored_and_learnt(client, site, auth, db):
    comment_id = _post_comment(
        client, site, auth, content="Cheap watches at https://replica-outlet.example today"
    )
    r = _feedback(client, site, comment_id, auth, json={"label": "spam"})
    assert r.status_code == 200, r.json
    assert r.json["id"] == comment_id and r.json["label"] == "spam" and r.json["source"] == "site"
    with db.session() as s:
        row = s.scalar(select(Feedback))
        assert (row.site_id, row.label, row.source) == (site.site_id, "spam", "site")
        rep = s.scalar(select(SpamReputation).where(SpamReputation.kind == "link_domain"))
        assert (rep.value, rep.spam, rep.ham) == ("replica-outlet.example", 1, 0)


def test_errors_use_the_one_shape_and_store_nothing(client, site, auth, db):
    comment_id = _post_comment(client, site, auth)
    cases = [
        (_feedback(client, site, comment_id, auth, json={"label": "eggs"}), 422),
        (_feedback(client, site, comment_id, auth, json={}), 422),
        (_feedback(client, site, comment_id, auth, json=["spam"]), 400),
        (_feedback(client, site, comment_id, auth, data="label=spam"), 415),
        (_feedback(client, site, "no-such-comment", auth, json={"label": "ham"}), 404),
        (_feedback(client, site, comment_id, {}, json={"label": "ham"}), 401),
        (_feedback(client, site, comment_id, {"Authorization": "Bearer nope"}, json={}), 401),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.json)
        assert set(response.json) == {"error", "message", "details"}
    assert cases[0][0].json["details"]["errors"][0]["loc"] == ["label"]
    assert _count(db, Feedback) == 0 and _count(db, SpamReputation) == 0


def test_another_sites_comment_is_refused(client, site, auth, db):
    with db.session() as s:
        other = create_site(s, name="Other", callback_url=None, allow_private=True)
    comment_id = _post_comment(client, site, auth)
    r = client.post(
        f"/v1/sites/{site.site_id}/comments/{comment_id}/feedback",
        json={"label": "spam"},
        headers={"Authorization": f"Bearer {other.api_key}"},
    )
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert _count(db, Feedback) == 0


def test_openapi_documents_the_feedback_call(client):
    spec = client.get("/openapi.json").json
    op = spec["paths"]["/v1/sites/{site_id}/comments/{comment_id}/feedback"]["post"]
    assert {"200", "401", "403", "404", "415", "422"} <= set(op["responses"])
    schema = spec["components"]["schemas"]["FeedbackIn"]
    assert schema["properties"]["label"]["enum"] == ["spam", "ham"]


def test_a_comment_of_another_site_is_not_found_under_ones_own_path(client, site, auth, db):
    with db.session() as s:
        other = create_site(s, name="Other", callback_url=None, allow_private=True)
    theirs = {"Authorization": f"Bearer {other.api_key}"}
    comment_id = _post_comment(
        client, other, theirs, content="Cheap watches at https://replica-outlet.example today"
    )
    r = _feedback(client, site, comment_id, auth, json={"label": "spam"})
    assert r.status_code == 404 and set(r.json) == {"error", "message", "details"}
    assert _count(db, Feedback) == 0 and _count(db, SpamReputation) == 0
