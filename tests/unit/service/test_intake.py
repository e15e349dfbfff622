import base64
import json
import time

from flask import request
from sqlalchemy import func, select

from civil.models import Article, Author, Comment
from civil.sites import create_site
from tests.factories import comment_body, stored_decision
from tests.unit.service.conftest import queued


def post(client, site, body, auth, **kw):
    return client.post(f"/v1/sites/{site.site_id}/comments", json=body, headers=auth, **kw)


def queued_ids(settings):
    out = []
    for path in queued(settings):
        msg = json.loads(path.read_text())
        out.append(json.loads(base64.b64decode(msg["body"]))[0])
    return out


def test_submit_stores_then_queues_and_answers_202(client, site, auth, db, settings):
    body = comment_body(parent_id="c-parent", inline_quote="the council voted 5-2")
    r = post(client, site, body, auth)
    assert r.status_code == 202
    assert r.json["id"] == body["id"] and r.json["status"] == "pending"
    assert r.json["links"]["self"] == f"/v1/sites/{site.site_id}/comments/{body['id']}"
    with db.session() as s:
        c = s.scalar(select(Comment).where(Comment.external_id == body["id"]))
        assert c.parent_external_id == "c-parent" and c.inline_quote == "the council voted 5-2"
        assert (
            c.article.title == body["article"]["title"]
            and c.author.external_id == body["author"]["id"]
        )
        assert c.ip == body["author"]["ip"] and c.user_agent == "Mozilla/5.0"
        comment_id = c.id
    assert queued_ids(settings) == [[comment_id, 1]]


def test_replay_is_a_noop_and_edit_is_rescored(client, site, auth, db, settings):
    body = comment_body()
    assert post(client, site, body, auth).status_code == 202
    again = post(client, site, body, auth)
    assert again.status_code == 202 and again.json["status"] == "pending"
    assert len(queued(settings)) == 1  # the replay queued nothing
    edited = post(client, site, {**body, "content": "Edited: thanks again."}, auth)
    assert edited.status_code == 202 and edited.json["revision"] == 2
    assert [m[1] for m in queued_ids(settings)] == [1, 2] or [
        m[1] for m in queued_ids(settings)
    ] == [2, 1]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 1
        assert s.scalar(select(Comment.content)) == "Edited: thanks again."


def test_replay_of_decided_comment_answers_its_state_with_200(client, site, auth, db):
    body = comment_body()
    post(client, site, body, auth)
    with db.session() as s:
        c = s.scalar(select(Comment))
        c.status, c.decision = "approved", stored_decision("approve")
    r = post(client, site, body, auth)
    assert r.status_code == 200 and r.json["status"] == "approved"
    got = client.get(f"/v1/sites/{site.site_id}/comments/{body['id']}", headers=auth)
    assert got.status_code == 200 and got.json["decision"]["action"] == "approve"


def test_wait_returns_202_when_not_decided_in_time(client, site, auth):
    r = client.post(
        f"/v1/sites/{site.site_id}/comments?wait=0.3", json=comment_body(), headers=auth
    )
    assert r.status_code == 202 and r.json["status"] == "pending"


def test_the_wait_counts_from_when_the_app_got_the_request(app, site, auth):
    # Work before the view (here a hook that takes 0.6 s, standing in for a slow rate-limit
    # check or a busy store) comes out of the caller's wait instead of being added to it.
    app.before_request(lambda: time.sleep(0.6) if "wait" in request.args else None)
    started = time.monotonic()
    r = app.test_client().post(
        f"/v1/sites/{site.site_id}/comments?wait=1", json=comment_body(), headers=auth
    )
    took = time.monotonic() - started
    assert r.status_code == 202 and r.json["status"] == "pending"
    assert 0.95 <= took < 1.4, took


def assert_error(r, status, code):
    assert r.status_code == status, r.get_data(as_text=True)
    assert set(r.json) == {"error", "message", "details"}
    assert r.json["error"] == code


def test_auth_errors(client, site, db, auth):
    url = f"/v1/sites/{site.site_id}/comments"
    assert_error(client.post(url, json=comment_body()), 401, "unauthorized")
    assert_error(
        client.post(url, json=comment_body(), headers={"Authorization": "Bearer nope"}),
        401,
        "unauthorized",
    )
    with db.session() as s:
        other = create_site(s, name="Other", callback_url=None)
    # Another site's key on this site's path, and this key on another site's comment.
    assert_error(
        client.post(url, json=comment_body(), headers={"Authorization": f"Bearer {other.api_key}"}),
        403,
        "forbidden",
    )
    body = comment_body()
    post(client, site, body, auth)
    r = client.get(
        f"/v1/sites/{site.site_id}/comments/{body['id']}",
        headers={"Authorization": f"Bearer {other.api_key}"},
    )
    assert_error(r, 403, "forbidden")
    r = client.get(
        f"/v1/sites/{other.site_id}/comments/{body['id']}",
        headers={"Authorization": f"Bearer {other.api_key}"},
    )
    assert_error(r, 404, "not_found")


def test_bad_input_is_refused_and_nothing_is_stored(client, site, auth, db, settings):
    url = f"/v1/sites/{site.site_id}/comments"
    assert_error(client.post(url, data="id=1", headers=auth), 415, "unsupported_media_type")
    assert_error(
        client.post(url, data="{nope", headers=auth, content_type="application/json"),
        400,
        "invalid_json",
    )
    assert_error(client.post(url, json=[1, 2], headers=auth), 400, "invalid_json")
    r = client.post(url, json=comment_body(content="   "), headers=auth)
    assert_error(r, 422, "validation_failed")
    assert r.json["details"]["errors"][0]["loc"] == ["content"]
    missing = comment_body()
    del missing["article"]
    assert_error(client.post(url, json=missing, headers=auth), 422, "validation_failed")
    assert_error(
        client.post(url, json=comment_body(content_type="text/rtf"), headers=auth),
        422,
        "validation_failed",
    )
    assert_error(
        client.post(url, json=comment_body(author={"id": "u", "ip": "999.1.1.1"}), headers=auth),
        422,
        "validation_failed",
    )
    assert_error(
        client.post(url, json=comment_body(created_at="yesterday"), headers=auth),
        422,
        "validation_failed",
    )
    assert_error(
        client.post(
            url, json=comment_body(content="x" * (settings.max_comment_chars + 1)), headers=auth
        ),
        422,
        "comment_too_long",
    )
    assert_error(
        client.post(
            url, json=comment_body(content="x" * (settings.max_body_bytes + 10)), headers=auth
        ),
        413,
        "request_entity_too_large",
    )
    assert_error(
        client.post(url + "?wait=11", json=comment_body(), headers=auth), 422, "validation_failed"
    )
    with db.session() as s:
        for table in (Comment, Article, Author):
            assert s.scalar(select(func.count()).select_from(table)) == 0
    assert queued(settings) == []


def test_unknown_route_and_method_use_the_error_shape(client):
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.delete("/healthz"), 405, "method_not_allowed")


def test_rate_limit_answers_429_with_retry_after(settings, db, site, auth):
    from dataclasses import replace

    from service import create_app

    client = create_app(replace(settings, intake_rate_limit="2/minute")).test_client()
    url = f"/v1/sites/{site.site_id}/comments"
    for _ in range(2):
        assert client.post(url, json=comment_body(), headers=auth).status_code == 202
    r = client.post(url, json=comment_body(), headers=auth)
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) > 0


def _assert_refused(r, code="invalid_text"):
    assert r.status_code == 400, r.data
    assert r.json["error"] == code and r.json["message"]


def test_nul_or_lone_surrogate_anywhere_is_refused_with_400(client, site, auth, db):
    cases = [
        comment_body(content="bad\x00text"),
        comment_body(id="c\x00"),
        comment_body(author={"id": "u-1", "name": "A\x00nn"}),
        comment_body(article={"id": "a-1", "title": "T\x00"}),
        comment_body(article={"id": "a\x00"}),
        comment_body(content="lone \ud800 surrogate"),
    ]
    for body in cases:
        raw = json.dumps(body)  # \u0000 and \ud800 escapes, as a client sends them
        r = client.post(
            f"/v1/sites/{site.site_id}/comments",
            data=raw,
            content_type="application/json",
            headers=auth,
        )
        _assert_refused(r)
        assert "\x00" not in r.json["message"] and "Ann" not in r.json["message"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 0
    r = client.get(f"/v1/sites/{site.site_id}/comments/x%00y", headers=auth)
    _assert_refused(r)


def test_json_nested_thousands_deep_is_refused_with_400(client, site, auth):
    deep = '{"id": "c-1", "content": "hi", "x": ' + "[" * 10_000 + "]" * 10_000 + "}"
    r = client.post(
        f"/v1/sites/{site.site_id}/comments",
        data=deep,
        content_type="application/json",
        headers=auth,
    )
    _assert_refused(r, "json_too_deep")
    # Brackets inside strings are text, not nesting.
    body = comment_body(content="[" * 500)
    assert post(client, site, body, auth).status_code == 202


def test_an_unexpected_error_logs_where_never_the_data(app, caplog):
    # Built at run time: the logged frames quote source lines, which must not hold them.
    email, text = "ann" + "@example.org", "you are all " + "idiots"

    @app.post("/boom")
    def boom():
        try:
            raise KeyError(email)
        except KeyError as inner:
            raise ValueError(text) from inner

    with caplog.at_level("ERROR", logger="civil.api"):
        r = app.test_client().post("/boom")
    assert r.status_code == 500 and r.json["error"] == "internal_error"
    [record] = [rec for rec in caplog.records if rec.name == "civil.api"]
    logged = record.getMessage() + record.stack + str(record.exc_info)
    assert "ValueError" in logged and "KeyError" in logged and "boom" in record.stack
    assert "ann@example.org" not in logged and "idiots" not in logged
    assert "ann@example.org" not in caplog.text and "idiots" not in caplog.text


def test_a_date_with_no_utc_time_is_a_422_not_a_500(client, site, auth):
    for when in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+12:00"):
        r = post(client, site, comment_body(created_at=when), auth)
        assert r.status_code == 422, r.data
        assert r.json["details"]["errors"][0]["loc"] == ["created_at"]
