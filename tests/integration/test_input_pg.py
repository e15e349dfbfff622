"""Text PostgreSQL cannot store (NUL) and what no encoder can (lone surrogates): 400, not 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civil.db import Database
from civil.migrate import upgrade
from civil.models import Comment
from civil.sites import Credentials, create_site
from service import create_app
from tests.conftest import make_settings
from tests.factories import comment_body

FORM = {"blog": "https://x.example", "comment_author": "Ann", "comment_content": "hello"}


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path: Path, pg_url: str) -> Iterator[tuple[object, Database, Credentials]]:
    database_url = pg_url if request.param == "postgresql" else ""
    settings = make_settings(tmp_path / "var", database_url=database_url)
    upgrade(settings)
    db = Database(settings)
    with db.session() as session:
        creds = create_site(session, name="PG", callback_url=None, allow_private=True)
    app = create_app(settings)
    yield app.test_client(), db, creds
    app.extensions["civil"]["db"].engine.dispose()
    db.engine.dispose()


def test_nul_and_surrogates_answer_400_and_store_nothing(served):
    client, db, creds = served
    auth = {"Authorization": f"Bearer {creds.api_key}"}
    url = f"/v1/sites/{creds.site_id}/comments"
    bodies = [
        comment_body(content="a\x00b"),
        comment_body(id="c\x00"),
        comment_body(author={"id": "u-1", "name": "A\x00"}),
        comment_body(article={"id": "a-1", "title": "T\x00"}),
        comment_body(article={"id": "a\x00"}),
        comment_body(content="lone \udc00"),
    ]
    for body in bodies:
        r = client.post(url, data=json.dumps(body), content_type="application/json", headers=auth)
        assert r.status_code == 400 and r.json["error"] == "invalid_text", r.data
    nul_key = {"Authorization": "Bearer civ_\x00"}
    assert client.post(url, json=comment_body(), headers=nul_key).status_code == 400
    assert client.get(f"{url}/x%00", headers=auth).status_code == 400
    akismet = client.post("/1.1/comment-check", data={"api_key": "civ_\x00", **FORM})
    assert akismet.status_code == 400 and akismet.data == b"invalid"
    perspective = client.post(
        "/v1alpha1/comments:analyze?key=civ_%00", json={"comment": {"text": "hi"}}
    )
    assert perspective.status_code == 400
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 0
    # The same request without the NUL is stored.
    assert client.post(url, json=comment_body(), headers=auth).status_code == 202


def test_an_article_url_longer_than_its_column_is_refused(served):
    client, _, creds = served
    long_url = "https://x.example/" + "a" * 3000
    r = client.post(
        f"/v1/sites/{creds.site_id}/comments",
        json=comment_body(article={"id": "a-1", "url": long_url}),
        headers={"Authorization": f"Bearer {creds.api_key}"},
    )
    assert r.status_code == 422 and r.json["details"]["errors"][0]["loc"] == ["article", "url"]
    form = {"api_key": creds.api_key, **FORM, "user_ip": "203.0.113.9", "permalink": long_url}
    akismet = client.post("/1.1/comment-check", data=form)
    assert akismet.status_code == 200 and akismet.data == b"invalid"
    assert "permalink" in akismet.headers["X-akismet-debug-help"]
