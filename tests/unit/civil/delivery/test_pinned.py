"""Deliveries connect to the address the guard checked, keeping the name in Host, SNI and TLS."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from civil.delivery import sender
from civil.delivery.netguard import pinned_post
from civil.models import Site
from tests.support.receiver import Receiver
from tests.unit.civil.delivery.test_delivery import _decided_event

# `.invalid` never resolves (RFC 6761): a request that arrives was not resolved again.
UNRESOLVABLE = "callback.invalid"
TLS_NAME = "callback.test"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def test_pinned_post_connects_to_the_checked_address_and_keeps_the_host(receiver):
    port = receiver.server.server_address[1]
    receiver.secret = SECRET
    headers = sender.sign(SECRET, "msg_1", datetime.now(UTC), "{}")
    url = f"http://{UNRESOLVABLE}:{port}/hooks/civil"
    r = pinned_post(["127.0.0.1"])(url, data=b"{}", headers=headers, timeout=5)
    assert r.status_code == 204
    assert receiver.received[0].headers["host"] == f"{UNRESOLVABLE}:{port}"
    assert receiver.received[0].verified


def test_delivery_posts_to_the_checked_address_with_the_urls_host(db, settings, site, receiver):
    [event_id] = _decided_event(db, site, receiver)
    port = receiver.server.server_address[1]
    with db.session() as s:
        s.get(Site, site.site_id).callback_url = f"http://localhost:{port}/hooks/civil"
    assert sender.deliver_event(db, settings, event_id).result == "delivered"
    assert receiver.received[0].headers["host"] == f"localhost:{port}"
    assert receiver.received[0].verified


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    """HTTPS on loopback with a self-signed certificate for TLS_NAME only."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={TLS_NAME}"),
            *("-addext", f"subjectAltName=DNS:{TLS_NAME}"),
        ],
        check=True,
        capture_output=True,
    )
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert, hosts
    server.shutdown()
    server.server_close()


def test_pinned_https_verifies_the_certificate_for_the_name(tls_server):
    port, cert, hosts = tls_server
    post = pinned_post(["127.0.0.1"])
    ok = post(f"https://{TLS_NAME}:{port}/hook", data=b"{}", verify=str(cert), timeout=5)
    assert ok.status_code == 204 and hosts == [f"{TLS_NAME}:{port}"]
    # The same address under another name: the certificate does not name it, so no send.
    with pytest.raises(requests.exceptions.SSLError):
        post(f"https://other.test:{port}/hook", data=b"{}", verify=str(cert), timeout=5)
    assert len(hosts) == 1


def test_the_next_checked_address_is_tried_when_one_refuses_connections(receiver):
    port = receiver.server.server_address[1]
    receiver.secret = SECRET
    headers = sender.sign(SECRET, "msg_2", datetime.now(UTC), "{}")
    # Nothing listens on 127.0.0.2 at that port: refused, so 127.0.0.1 is tried next.
    post = pinned_post(["127.0.0.2", "127.0.0.1"])
    r = post(f"http://{UNRESOLVABLE}:{port}/hooks/civil", data=b"{}", headers=headers, timeout=5)
    assert r.status_code == 204 and len(receiver.received) == 1
    with pytest.raises(requests.exceptions.ConnectionError):
        pinned_post(["127.0.0.2"])(f"http://{UNRESOLVABLE}:{port}/x", data=b"{}", timeout=5)
