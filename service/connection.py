"""Close the connection after refusing a request whose body was left unread.

A keep-alive server must read the rest of a refused body before it can parse the next
request. gunicorn drains only 64 KiB of it and otherwise closes the socket, yet its answer
still said `Connection: keep-alive`, so the client's next request on that connection failed.
Such refusals now say `Connection: close`, and gunicorn is told to close after them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request

# What gunicorn drains of an unread body before it gives up on the connection.
SERVER_DRAIN_BYTES = 64 * 1024

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _mark_close(response: Response) -> Response:
    unread_may_be_large = (request.content_length or 0) > SERVER_DRAIN_BYTES
    if response.status_code == 413 or (response.status_code >= 400 and unread_may_be_large):
        response.headers["Connection"] = "close"
    return response


def honour_close(wsgi_app: WSGIApp) -> WSGIApp:
    """Make the server close the connection when the app's answer says `Connection: close`.

    gunicorn drops an application's hop-by-hop headers and decides `Connection` itself; its
    `start_response` is a method of its response object, whose `force_close()` is how its own
    workers ask for a close. Other servers are left as they are.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            closing = any(
                name.lower() == "connection" and value.lower() == "close" for name, value in headers
            )
            force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
            if closing and callable(force_close):
                force_close()
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return app


def init_app(app: Flask) -> None:
    app.after_request(_mark_close)
    app.wsgi_app = honour_close(app.wsgi_app)  # type: ignore[method-assign]
