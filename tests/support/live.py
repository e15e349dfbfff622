"""Civil's Flask app served over real HTTP on a random loopback port, and an httpx transport
that sends a client's calls for another host (rest.akismet.com, ...) there instead."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, make_server


class LiveServer:
    """A threaded werkzeug server for one app; `url` is its base URL."""

    def __init__(self, app: Any) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class ToCivil(httpx.BaseTransport):
    """Rewrites each request's scheme, host and port to Civil's, keeping path and query."""

    def __init__(self, base_url: str) -> None:
        self.base = httpx.URL(base_url)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self.base.scheme, host=self.base.host, port=self.base.port
        )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def client_for(real_origin: str, base_url: str, **kwargs: Any) -> httpx.Client:
    """An httpx client whose calls to `real_origin` (e.g. https://rest.akismet.com) reach Civil."""
    return httpx.Client(mounts={real_origin: ToCivil(base_url)}, trust_env=False, **kwargs)
