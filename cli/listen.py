"""`civil listen`: a local receiver that verifies and prints a site's signed callbacks.

Like `stripe listen`: run it in a terminal, wire a site to it with
`civil sites create --name … --callback-url listen` (which stores `LISTENER_URL`, the one
loopback callback the SSRF guard lets through), and every callback is checked against the
site's Standard Webhooks secret, printed, and optionally forwarded to a URL of your choosing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import click
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from civil.delivery.netguard import LISTENER_HOST, LISTENER_PATH, LISTENER_PORT, LISTENER_URL
from cli.common import open_database

# Webhook headers passed on to --forward-to, so the forwarded request verifies there too.
FORWARDED = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")
STATUS_COLOURS = {"approved": "green", "held": "yellow", "rejected": "red", "pending": "blue"}

SecretsFor = Callable[[str], list[str]]


@dataclass
class Callback:
    """One callback as the listener saw it."""

    webhook_id: str
    verified: bool
    body: dict[str, Any] | None
    error: str = ""
    forwarded_status: int | None = None


def secrets_from_database(site_id: str) -> list[str]:
    """The signing secret of the site a callback names, read fresh (rotations apply at once)."""
    from civil.models import Site

    with open_database().session() as session:
        site = session.get(Site, site_id)
        return [site.signing_secret] if site is not None else []


def verify(raw: bytes, headers: dict[str, str], secrets_for: SecretsFor) -> Callback:
    """Check a callback's signature against the secret of the site it names."""
    webhook_id = headers.get("webhook-id", "")
    try:
        claimed = json.loads(raw)
        site_id = str(claimed["data"]["site_id"])
    except (ValueError, KeyError, TypeError):
        return Callback(webhook_id, False, None, "body is not a Civil event")
    candidates = secrets_for(site_id)
    if not candidates:
        return Callback(webhook_id, False, None, f"no signing secret for site {site_id}")
    error = "signature does not match"
    for secret in candidates:
        try:
            Webhook(secret).verify(raw, headers)
        except WebhookVerificationError as exc:
            error = str(exc) or "signature does not match"
            continue
        return Callback(webhook_id, True, claimed)
    return Callback(webhook_id, False, None, error)


def describe(callback: Callback) -> str:
    """One line for the terminal: time, type, comment, status, reasons (coloured)."""
    stamp = time.strftime("%H:%M:%S")
    if not callback.verified or callback.body is None:
        return (
            f"{stamp}  "
            + click.style("REJECTED", fg="red", bold=True)
            + f"  {callback.webhook_id or '(no webhook-id)'}  {callback.error}"
        )
    data = callback.body.get("data") or {}
    status = str(data.get("status", ""))
    decision = data.get("decision") or {}
    reasons = [str(r.get("code", "")) for r in decision.get("reasons") or []]
    parts = [
        stamp,
        click.style(f"{callback.body.get('type', '?'):<24}", fg="cyan"),
        click.style(str(data.get("comment_id", "")), bold=True),
        click.style(f"{status:<8}", fg=STATUS_COLOURS.get(status), bold=True),
        click.style(", ".join(reasons) or "-", fg="bright_black"),
    ]
    if decision.get("decided_by") and decision["decided_by"] != "auto":
        parts.append(f"by {decision['decided_by']}")
    if callback.forwarded_status is not None:
        parts.append(f"→ {callback.forwarded_status}")
    return "  ".join(parts)


@dataclass
class Listener:
    """A threaded loopback HTTP server that verifies, records, prints and forwards callbacks."""

    secrets_for: SecretsFor
    host: str = LISTENER_HOST
    port: int = LISTENER_PORT
    forward_to: str | None = None
    echo: Callable[[str], None] | None = None
    received: list[Callback] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def bind(self) -> Listener:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = listener.handle(raw, headers)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self.server.server_address[1]
        return self

    def start(self) -> Listener:
        """Bind and serve in a background thread."""
        if self.server is None:
            self.bind()
        assert self.server is not None
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def handle(self, raw: bytes, headers: dict[str, str]) -> int:
        """Verify one callback; 204 when good (or the forward target's status), 401 when not."""
        callback = verify(raw, headers, self.secrets_for)
        status = 204 if callback.verified else 401
        if callback.verified and self.forward_to:
            try:
                response = requests.post(
                    self.forward_to,
                    data=raw,
                    headers={k: v for k, v in headers.items() if k in FORWARDED},
                    timeout=10,
                )
                status = callback.forwarded_status = response.status_code
            except requests.RequestException as exc:
                callback.error = f"forward failed: {exc}"
                status = callback.forwarded_status = 502
        self.received.append(callback)
        if self.echo is not None:
            self.echo(describe(callback))
        return status


@click.command("listen")
@click.option("--port", type=int, default=LISTENER_PORT, show_default=True)
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    help="A whsec_ signing secret to verify with (repeat); default: each site's own, read "
    "from the database.",
)
@click.option(
    "--forward-to",
    default=None,
    help="Also POST each verified callback, headers and body unchanged, to this URL; its "
    "status is what Civil sees (so its failures are retried).",
)
def listen(port: int, secrets: tuple[str, ...], forward_to: str | None) -> None:
    """Receive, verify and print callbacks (wire a site with --callback-url listen)."""
    secrets_for: SecretsFor = (lambda _site: list(secrets)) if secrets else secrets_from_database
    listener = Listener(secrets_for, port=port, forward_to=forward_to, echo=click.echo)
    try:
        listener.bind()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {LISTENER_HOST}:{port}: {exc}") from exc
    url = f"http://{LISTENER_HOST}:{listener.port}{LISTENER_PATH}"
    click.echo(click.style("civil listen", bold=True) + f"  receiving callbacks on {url}")
    if url == LISTENER_URL:
        click.echo("  wire a site to it: civil sites update SITE --callback-url listen")
    else:
        click.echo("  (not the default port: callbacks here need CIVIL_ALLOW_PRIVATE_CALLBACKS=1)")
    if forward_to:
        click.echo(f"  forwarding verified callbacks to {forward_to}")
    click.echo("  Ctrl-C to stop")
    assert listener.server is not None
    try:
        listener.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        listener.server.server_close()
