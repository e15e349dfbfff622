"""Keep-alive clients against the real gunicorn (`civil api`): a refused body must not break
the client's next request on the same connection."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from civil.settings import Settings
from civil.sites import Credentials
from tests.factories import comment_body
from tests.integration.conftest import Stack
from tests.integration.test_moderate_browser import Server

# Past the 64 KiB body limit and past what gunicorn drains of an unread body.
OVERSIZED = json.dumps({"id": "big", "content": "a" * 300_000}).encode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, Credentials]]:
    settings = Settings.from_env(
        {}, data_dir=tmp_path / "var", toxicity_model="linear", allow_private_callbacks=True
    )
    stack = Stack(settings, tmp_path)
    creds = stack.site()
    server = Server(stack)
    yield server, creds
    server.stop()
    stack.stop()


def test_a_413_closes_and_the_sessions_next_post_succeeds(served):
    server, creds = served
    url = f"http://127.0.0.1:{server.port}/v1/sites/{creds.site_id}/comments"
    auth = {"Authorization": f"Bearer {creds.api_key}"}
    with requests.Session() as session:
        big = session.post(
            url, data=OVERSIZED, headers={**auth, "Content-Type": "application/json"}
        )
        assert big.status_code == 413 and big.json()["error"] == "request_entity_too_large"
        assert big.headers["Connection"].lower() == "close"
        ok = session.post(url, json=comment_body(), headers=auth)
        assert ok.status_code == 202
        akismet = session.post(
            f"http://127.0.0.1:{server.port}/1.1/comment-check",
            data={
                "api_key": creds.api_key,
                "blog": "https://x.example",
                "comment_content": "a" * 300_000,
            },
        )
        assert akismet.status_code == 413 and akismet.headers["Connection"].lower() == "close"
        assert session.post(url, json=comment_body(id="c-2"), headers=auth).status_code == 202


def test_http_client_keep_alive_survives_a_413(served):
    server, creds = served
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": f"Bearer {creds.api_key}", "Content-Type": "application/json"}
    path = f"/v1/sites/{creds.site_id}/comments"
    conn.request("POST", path, body=OVERSIZED, headers=headers)
    refused = conn.getresponse()
    refused.read()
    assert refused.status == 413 and refused.getheader("Connection") == "close"
    # http.client reopens after a `close` answer; a stale keep-alive socket would raise here.
    conn.request("POST", path, body=json.dumps(comment_body()), headers=headers)
    answer = conn.getresponse()
    assert answer.status == 202, answer.read()
    conn.close()
