"""The compatible endpoints over Flask's test client: SQLite, the folder broker, no worker."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from civil.compat.akismet import SUBMITTED
from civil.models import Comment, Feedback
from civil.sites import create_site
from service import create_app
from tests.factories import stored_decision
from tests.unit.service.conftest import queued

FORM = {
    "blog": "https://planet.example",
    "user_ip": "203.0.113.9",
    "comment_author": "Ann",
    "comment_content": "Thanks for the piece on the bike lanes.",
}


@pytest.fixture
def app(settings, db):
    # No worker runs here: comment-check answers from the rules once the deadline passes.
    return create_app(replace(settings, akismet_deadline_seconds=0.2))


def check(client, key, **fields):
    return client.post("/1.1/comment-check", data={"api_key": key, **FORM, **fields})


def count(db, model=Comment):
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_comment_check_stores_queues_once_and_answers_false(client, site, db, settings):
    first = check(client, site.api_key)
    assert (first.status_code, first.data) == (200, b"false")
    assert first.mimetype == "text/plain"
    assert first.headers["X-Civil-Verdict"] == "provisional"
    assert "X-akismet-pro-tip" not in first.headers
    again = check(client, site.api_key)
    assert again.data == b"false"
    assert again.headers["X-Civil-Comment-Id"] == first.headers["X-Civil-Comment-Id"]
    assert count(db) == 1 and len(queued(settings)) == 1
    with db.session() as session:
        comment = session.scalar(select(Comment))
        assert comment.status == "pending" and comment.content == FORM["comment_content"]
        assert comment.external_id == first.headers["X-Civil-Comment-Id"]


def test_a_decided_comment_answers_from_its_decision(client, site, db):
    first = check(client, site.api_key)
    with db.session() as session:
        comment = session.scalar(select(Comment))
        comment.status = "held"
        comment.decision = stored_decision(
            "hold", reasons=[{"code": "spam", "detail": "", "action": "hold"}]
        )
    again = check(client, site.api_key)
    assert again.data == b"true" and again.headers["X-Civil-Verdict"] == "decision"
    assert again.headers["X-Civil-Comment-Id"] == first.headers["X-Civil-Comment-Id"]


def test_honeypot_is_spam_and_the_discard_tier_says_so(client, db):
    with db.session() as session:
        strict = create_site(
            session, name="S", callback_url=None, policy={"spam_discard_threshold": 0.9}
        )
        # The discard tier at its top (1.0): honeypot spam is still spam, never "discard".
        lenient = create_site(
            session, name="L", callback_url=None, policy={"spam_discard_threshold": 1.0}
        )
    trap = {"honeypot_field_name": "website2", "website2": "http://x.example"}
    answer = check(client, strict.api_key, **trap)
    assert answer.data == b"true" and answer.headers["X-akismet-pro-tip"] == "discard"
    answer = check(client, lenient.api_key, **trap)
    assert answer.data == b"true" and "X-akismet-pro-tip" not in answer.headers


def test_is_test_and_blank_texts_are_answered_but_not_stored(client, site, db, settings):
    links = " ".join(f"http://p{i}.example" for i in range(5))
    answer = check(client, site.api_key, is_test="1", comment_content=f"pills {links}")
    assert answer.data == b"true" and answer.headers["X-Civil-Verdict"] == "test"
    assert check(client, site.api_key, comment_content="  ").data == b"false"
    assert count(db) == 0 and queued(settings) == []


def test_json_body_and_key_as_the_host_label(client, site, db):
    answer = client.post(
        "/1.1/comment-check",
        json={**FORM, "is_test": True},
        headers={"Host": f"{site.api_key}.rest.civil.example"},
    )
    assert answer.data == b"false", answer.headers.get("X-akismet-debug-help")
    bad = client.post("/1.1/comment-check", json=["not", "an", "object"])
    assert bad.data == b"invalid"


@pytest.mark.parametrize(
    ("fields", "debug"),
    [
        ({"api_key": "civ_wrong"}, "Invalid API key"),
        ({"api_key": ""}, 'Empty "api_key" value.'),
        ({"user_ip": ""}, "Missing required field: user_ip."),
        ({"user_ip": "999.1.1.1"}, "Invalid value for: user_ip."),
    ],
)
def test_bad_calls_answer_invalid_with_a_debug_header(client, site, fields, debug):
    answer = client.post("/1.1/comment-check", data={"api_key": site.api_key, **FORM, **fields})
    assert (answer.status_code, answer.data) == (200, b"invalid")
    assert answer.headers["X-akismet-debug-help"].startswith(debug)


def test_verify_key(client, site):
    good = client.post("/1.1/verify-key", data={"key": site.api_key, "blog": FORM["blog"]})
    assert good.data == b"valid" and "X-akismet-debug-help" not in good.headers
    bad = client.post("/1.1/verify-key", data={"key": "civ_nope", "blog": FORM["blog"]})
    assert bad.data == b"invalid" and bad.headers["X-akismet-debug-help"]
    # Akismet's verify-key takes the key and the blog; a call without the blog is invalid.
    no_blog = client.post("/1.1/verify-key", data={"key": site.api_key})
    assert no_blog.data == b"invalid"
    assert no_blog.headers["X-akismet-debug-help"] == 'Empty "blog" value.'


def test_submits_label_the_checked_comment_or_the_bare_text(client, site, db):
    check(client, site.api_key)
    spam = client.post("/1.1/submit-spam", data={"api_key": site.api_key, **FORM})
    assert spam.data == SUBMITTED.encode() == b"Thanks for making the web a better place."
    unseen = {**FORM, "comment_content": "Never checked"}
    assert client.post("/1.1/submit-ham", data={"key": site.api_key, **unseen}).data == spam.data
    with db.session() as session:
        comment_id = session.scalar(select(Comment.id))
        rows = {(f.label, f.comment_id, f.text) for f in session.scalars(select(Feedback))}
    assert rows == {("spam", comment_id, FORM["comment_content"]), ("ham", None, "Never checked")}
    bad_key = client.post("/1.1/submit-spam", data={**FORM, "api_key": "civ_x"})
    assert bad_key.data == b"invalid" and count(db, Feedback) == 2


def test_usage_limit(client, site):
    check(client, site.api_key)
    answer = client.get(f"/1.2/usage-limit?api_key={site.api_key}")
    assert answer.json == {"limit": "none", "usage": 1, "percentage": "0.00", "throttled": False}
    assert client.get("/1.2/usage-limit?api_key=civ_x").data == b"invalid"


def analyze(client, key, **body):
    payload = {"comment": {"text": "hello there"}, "requestedAttributes": {"TOXICITY": {}}}
    return client.post(f"/v1alpha1/comments:analyze?key={key}", json={**payload, **body})


def test_perspective_key_errors_are_googles(client, site):
    missing = client.post("/v1alpha1/comments:analyze", json={})
    assert missing.status_code == 403 and missing.json["error"]["status"] == "PERMISSION_DENIED"
    wrong = analyze(client, "civ_wrong")
    assert wrong.status_code == 400
    assert wrong.json["error"]["message"] == "API key not valid. Please pass a valid API key."
    assert wrong.json["error"]["status"] == "INVALID_ARGUMENT"
    assert wrong.json["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    header_key = client.post(
        "/v1alpha1/comments:analyze",
        json={"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}},
        headers={"X-Goog-Api-Key": site.api_key},
    )
    assert header_key.status_code == 200
    not_json = client.post(f"/v1alpha1/comments:analyze?key={site.api_key}", data="x")
    assert not_json.status_code == 400 and "error" in not_json.json


def test_perspective_scores_with_the_api_process_model(client, site, db):
    answer = analyze(client, site.api_key, spanAnnotations=False)
    spans = answer.json["attributeScores"]["TOXICITY"]["spanScores"]
    assert spans[0]["begin"] == 0 and spans[0]["end"] == len("hello there")
    # Offsets are UTF-16 units, as Perspective gives them: the emoji counts two.
    emoji = analyze(client, site.api_key, comment={"text": "hello 😀"})
    assert emoji.json["attributeScores"]["TOXICITY"]["spanScores"][0]["end"] == 8
    assert count(db) == 0


def test_perspective_model_unavailable_is_503(settings, db, site):
    broken = create_app(replace(settings, sync_toxicity_model="python:nowhere.at_all:Model"))
    answer = analyze(broken.test_client(), site.api_key)
    assert answer.status_code == 503 and answer.json["error"]["status"] == "UNAVAILABLE"


def test_discovery_document_is_rooted_where_it_was_asked(client):
    doc = client.get("/$discovery/rest?version=v1alpha1", base_url="http://civil.example:8080")
    assert doc.json["rootUrl"] == "http://civil.example:8080/"
    methods = doc.json["resources"]["comments"]["methods"]
    assert methods["analyze"]["path"] == "v1alpha1/comments:analyze"
    assert client.get("/$discovery/rest?version=v1").status_code == 404


def test_moderation_errors_are_openais(client, site):
    wrong = client.post(
        "/v1/moderations", json={"input": "x"}, headers={"Authorization": "Bearer x"}
    )
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "invalid_api_key"
    auth = {"Authorization": f"Bearer {site.api_key}"}
    empty = client.post("/v1/moderations", json={"input": []}, headers=auth)
    assert empty.status_code == 400 and empty.json["error"]["param"] == "input"
    ok = client.post("/v1/moderations", json={"input": ["a", "b", "c"]}, headers=auth)
    assert ok.status_code == 200 and len(ok.json["results"]) == 3


def test_oversized_bodies_are_refused_in_each_apis_shape(client, site, settings, caplog):
    big = "x" * (settings.max_body_bytes + 1)
    akismet = client.post(
        "/1.1/comment-check", data={"api_key": site.api_key, **FORM, "comment_content": big}
    )
    assert (akismet.status_code, akismet.data) == (413, b"invalid")
    assert akismet.mimetype == "text/plain" and akismet.headers["X-akismet-debug-help"]
    # The rate limiter's key function reads the body too; it must not fail on it.
    assert not [r for r in caplog.records if r.name == "flask-limiter" and r.exc_info]
    perspective = client.post(
        f"/v1alpha1/comments:analyze?key={site.api_key}",
        data=big,
        content_type="application/json",
    )
    assert perspective.status_code == 413
    assert perspective.json["error"]["code"] == 413
    assert perspective.json["error"]["status"] == "INVALID_ARGUMENT"
    moderation = client.post(
        "/v1/moderations",
        data=big,
        content_type="application/json",
        headers={"Authorization": f"Bearer {site.api_key}"},
    )
    assert moderation.status_code == 413
    assert moderation.json["error"]["type"] == "invalid_request_error"


def test_moderation_inputs_are_held_to_the_comment_length_limit(settings, db, site):
    client = create_app(replace(settings, max_comment_chars=50)).test_client()
    auth = {"Authorization": f"Bearer {site.api_key}"}
    ok = client.post("/v1/moderations", json={"input": ["x" * 50]}, headers=auth)
    assert ok.status_code == 200
    long = client.post("/v1/moderations", json={"input": ["ok", "x" * 51]}, headers=auth)
    assert long.status_code == 400 and long.json["error"]["param"] == "input"


def test_rate_limits_per_key_answer_in_each_apis_shape(settings, db, site):
    client = create_app(replace(settings, intake_rate_limit="2/minute")).test_client()
    auth = {"Authorization": f"Bearer {site.api_key}"}
    calls = {
        "perspective": lambda: analyze(client, site.api_key),
        "akismet": lambda: check(client, site.api_key, is_test="1"),
        "openai": lambda: client.post("/v1/moderations", json={"input": "x"}, headers=auth),
    }
    for name, call in calls.items():
        assert [call().status_code for _ in range(2)] == [200, 200], name
        over = call()
        assert over.status_code == 429, name
        if name == "perspective":
            assert over.json["error"]["status"] == "RESOURCE_EXHAUSTED"
        elif name == "openai":
            assert over.json["error"]["type"] == "requests"
        else:
            assert over.headers["X-akismet-debug-help"].startswith("Rate limit")


def test_akismet_submits_are_rate_limited_per_key(settings, db, site):
    # Each submit stores a feedback row; without a limit one key could write them unbounded.
    client = create_app(replace(settings, intake_rate_limit="2/minute")).test_client()
    form = {"api_key": site.api_key, **FORM}
    for path in ("/1.1/submit-spam", "/1.1/submit-ham"):
        assert [client.post(path, data=form).status_code for _ in range(2)] == [200, 200]
        over = client.post(path, data=form)
        assert over.status_code == 429 and over.headers["X-akismet-debug-help"]
    assert count(db, Feedback) == 4


def test_openapi_documents_every_compat_route(client, app):
    paths = client.get("/openapi.json").json["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in {"perspective", "akismet", "moderations"}:
            assert rule.rule in paths, rule.rule
    verify = paths["/1.1/verify-key"]["post"]["requestBody"]["content"]
    schema = verify["application/x-www-form-urlencoded"]["schema"]["$ref"].rsplit("/", 1)[1]
    spec = client.get("/openapi.json").json["components"]["schemas"][schema]
    assert spec["required"] == ["key", "blog"]


def test_routing_errors_under_compat_paths_answer_in_each_apis_shape(client):
    akismet = client.get("/1.1/comment-check")  # Akismet takes POST only
    assert akismet.status_code == 405 and akismet.data == b"invalid"
    assert akismet.headers["X-akismet-debug-help"]
    assert client.post("/1.1/no-such-call").data == b"invalid"
    google = client.get("/v1alpha1/comments:analyze").get_json()
    assert google["error"]["code"] == 405 and "status" in google["error"]
    openai = client.get("/v1/moderations").get_json()
    assert openai["error"]["type"] == "invalid_request_error"
    # Civil's own paths keep Civil's shape.
    civil = client.get("/v1/sites/x/no-such-thing").get_json()
    assert set(civil) == {"error", "message", "details"}


def test_nul_before_the_key_check_answers_400_in_each_apis_shape(client, site):
    akismet = client.post("/1.1/comment-check", data={"api_key": "civ_\x00", **FORM})
    assert akismet.status_code == 400 and akismet.data == b"invalid"
    assert "NUL" in akismet.headers["X-akismet-debug-help"]
    content = client.post(
        "/1.1/comment-check", data={"api_key": site.api_key, **FORM, "comment_content": "a\x00"}
    )
    assert content.status_code == 400 and content.data == b"invalid"
    perspective = client.post(
        "/v1alpha1/comments:analyze?key=civ_%00",
        json={"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}},
    )
    assert perspective.status_code == 400
    assert perspective.json["error"]["status"] == "INVALID_ARGUMENT"
    openai = client.post(
        "/v1/moderations",
        data='{"input": "lone \\ud800"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {site.api_key}"},
    )
    assert openai.status_code == 400 and openai.json["error"]["type"] == "invalid_request_error"


def test_akismet_date_with_no_utc_time_is_invalid_not_500(client, site):
    r = check(client, site.api_key, comment_date_gmt="9999-12-31T23:59:59-12:00")
    assert r.status_code == 200 and r.data == b"invalid"
    assert "comment_date_gmt" in r.headers["X-akismet-debug-help"]
