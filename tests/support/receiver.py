"""A real HTTP callback receiver on loopback that verifies Standard Webhooks signatures."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    verified: bool
    headers: dict[str, str]
    status: int = 204  # what the receiver answered
    at: float = field(default_factory=time.time)  # when it arrived (epoch seconds)


@dataclass
class Receiver:
    """Records every callback; answers from a script of (status, headers) then 204."""

    secret: str = ""
    received: list[Received] = field(default_factory=list)
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    server: ThreadingHTTPServer | None = None
    port: int = 0  # 0: any free port; a fixed one lets a stopped receiver come back on it
    host: str = "127.0.0.1"  # the cluster tests listen on the hosts' bridge address
    delay: float = 0.0  # seconds before answering: keeps deliveries in flight
    # TCP connections accepted so far (HTTP/1.1 keep-alive: a sender that reuses its
    # connection opens one for many callbacks); `stop` drops the idle ones.
    connections: int = 0
    idle_sockets: set[Any] = field(default_factory=set)  # open, between requests
    stopping: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/civil"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint would

            def setup(self) -> None:
                super().setup()
                with receiver.lock:
                    receiver.connections += 1
                    receiver.idle_sockets.add(self.connection)

            def finish(self) -> None:
                with receiver.lock:
                    receiver.idle_sockets.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                arrived = time.time()
                with receiver.lock:  # a request being answered is finished, even by a stop
                    receiver.idle_sockets.discard(self.connection)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(raw, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                if receiver.delay:
                    time.sleep(receiver.delay)
                status, extra = receiver.script.popleft() if receiver.script else (204, {})
                with receiver.lock:
                    receiver.received.append(
                        Received(
                            headers.get("webhook-id", ""),
                            json.loads(raw),
                            verified,
                            headers,
                            status,
                            arrived,
                        )
                    )
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.lock:
                    if receiver.stopping:
                        self.close_connection = True
                    else:
                        receiver.idle_sockets.add(self.connection)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop the kept-alive connections: a stopped endpoint is down."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            with self.lock:
                self.stopping = True
                for sock in list(self.idle_sockets):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> list[Received]:
        """Wait until some received callbacks satisfy `predicate(list)`; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.received):
                return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"callbacks never matched; got {[r.body for r in self.received]}")
