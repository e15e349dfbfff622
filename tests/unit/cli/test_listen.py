"""`civil listen`: real signed callbacks (signed as the sender signs them) over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from civil.delivery.netguard import LISTENER_URL, check_callback_url
from civil.delivery.sender import sign
from civil.errors import CallbackRefused
from civil.models import Site, utcnow
from civil.sites import new_signing_secret
from cli import civil
from cli.listen import Listener
from tests.support.receiver import Receiver

CIVIL = str(Path(sys.executable).with_name("civil"))


def event_body(site_id: str = "site_1", status: str = "held") -> str:
    return json.dumps(
        {
            "type": "comment.decided",
            "timestamp": "2026-12-01T10:00:00Z",
            "data": {
                "site_id": site_id,
                "comment_id": "c-42",
                "status": status,
                "article_id": "a-1",
                "parent_id": None,
                "decision": {
                    "action": "hold",
                    "decided_by": "auto",
                    "reasons": [{"code": "toxic_insult", "detail": "insult 0.7 >= 0.65"}],
                    "scores": {"toxicity": {"insult": 0.7}, "spam": 0.01},
                },
            },
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def post(url: str, secret: str, body: str, *, tamper: str = "") -> requests.Response:
    headers = sign(secret, "evt_1", utcnow(), body)
    return requests.post(url, data=(body + tamper).encode(), headers=headers, timeout=10)


@pytest.fixture
def secret() -> str:
    return new_signing_secret()


def test_verifies_a_signed_callback_and_rejects_a_tampered_one(secret):
    lines: list[str] = []
    listener = Listener(
        lambda site: [secret] if site == "site_1" else [], port=0, echo=lines.append
    )
    listener.start()
    url = f"http://127.0.0.1:{listener.port}/civil-listen"
    try:
        assert post(url, secret, event_body()).status_code == 204
        tampered = event_body().replace('"held"', '"approved"')
        headers = sign(secret, "evt_2", utcnow(), event_body())
        assert requests.post(url, data=tampered, headers=headers, timeout=10).status_code == 401
        assert post(url, new_signing_secret(), event_body()).status_code == 401
        assert post(url, secret, event_body(site_id="site_unknown")).status_code == 401
    finally:
        listener.stop()
    assert [c.verified for c in listener.received] == [True, False, False, False]
    assert listener.received[0].body["data"]["comment_id"] == "c-42"
    assert "comment.decided" in lines[0] and "c-42" in lines[0] and "toxic_insult" in lines[0]
    assert all("REJECTED" in line for line in lines[1:])
    assert "no signing secret for site site_unknown" in lines[3]


def test_forwards_verified_callbacks_unchanged_and_answers_with_their_status(secret):
    target = Receiver(secret=secret).start()
    target.script.append((503, {}))
    listener = Listener(lambda _site: [secret], port=0, forward_to=target.url).start()
    url = f"http://127.0.0.1:{listener.port}/civil-listen"
    try:
        # The target's failure is what Civil sees, so Civil retries it.
        assert post(url, secret, event_body()).status_code == 503
        assert post(url, secret, event_body()).status_code == 204
        assert post(url, secret, event_body(), tamper=" ").status_code == 401
    finally:
        listener.stop()
        target.stop()
    assert [r.verified for r in target.received] == [True, True]
    assert target.received[0].body["data"]["status"] == "held"
    assert [c.forwarded_status for c in listener.received] == [503, 204, None]


def test_the_command_prints_events_without_colour_when_not_a_tty(secret, tmp_path):
    port = 18000 + os.getpid() % 1000
    proc = subprocess.Popen(
        [CIVIL, "listen", "--port", str(port), "--secret", secret],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CIVIL_DATA_DIR": str(tmp_path / "var")},
    )
    try:
        url = f"http://127.0.0.1:{port}/civil-listen"
        deadline = time.monotonic() + 30
        while True:
            try:
                assert post(url, secret, event_body()).status_code == 204
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "civil listen never listened"
                time.sleep(0.2)
        assert post(url, secret, event_body(), tamper="x").status_code == 401
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"receiving callbacks on {url}" in out
    assert "CIVIL_ALLOW_PRIVATE_CALLBACKS=1" in out  # not the default port
    event_line = next(line for line in out.splitlines() if "c-42" in line)
    assert "comment.decided" in event_line and "held" in event_line
    assert "toxic_insult" in event_line
    assert "REJECTED" in out
    assert "\x1b[" not in out


def test_the_guard_allows_only_the_listener_url():
    assert check_callback_url(LISTENER_URL, allow_private=False) == ["127.0.0.1"]
    for near in (
        LISTENER_URL.replace("8787", "8788"),
        LISTENER_URL.replace("/civil-listen", "/admin"),
        LISTENER_URL.replace("127.0.0.1", "localhost"),
        LISTENER_URL.replace("http://", "https://"),
    ):
        with pytest.raises(CallbackRefused):
            check_callback_url(near, allow_private=False)


def test_sites_create_and_update_with_listen(settings, db, monkeypatch):
    # The private-callback setting stays off: `listen` needs no exception beyond its own URL.
    for key, value in replace(settings, allow_private_callbacks=False).as_env().items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    out = runner.invoke(civil, ["sites", "create", "--name", "Local", "--callback-url", "listen"])
    assert out.exit_code == 0, out.output
    site_id = json.loads(out.output)["site_id"]
    refused = runner.invoke(
        civil, ["sites", "update", site_id, "--callback-url", "http://127.0.0.1:8787/x"]
    )
    assert refused.exit_code == 2 and "callback_url_refused" in refused.output
    with db.session() as session:
        assert session.get(Site, site_id).callback_url == LISTENER_URL
    again = runner.invoke(civil, ["sites", "update", site_id, "--callback-url", "listen"])
    assert again.exit_code == 0 and json.loads(again.output)["callback_url"] == LISTENER_URL
