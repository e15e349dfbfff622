"""`civil demo`: a demo site, a moderator and a realistic thread, through the running service.

It talks to `civil run` the way a host site does: the comments go through the real HTTP API
(`POST /v1/sites/{site}/comments?wait=…`), each decision is printed with its reasons as it
arrives, and the site's callbacks go to the local `civil listen` receiver (started here for the
demo when no `civil listen` is running already).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import click
import requests

from civil.delivery.netguard import LISTENER_PORT, LISTENER_URL
from cli.common import fail, load_settings, open_database
from cli.listen import Listener, secrets_from_database

ARTICLE: dict[str, Any] = {
    "id": "tram-line-2026",
    "url": "https://ledger.example/city/2026/12/council-approves-riverside-tram",
    "title": "Council approves the Riverside tram line after a four-hour meeting",
    "text": (
        "The city council voted 9 to 4 on Tuesday night to build the Riverside tram line, a "
        "6.2-kilometre route linking the central station to the university campus. "
        "Construction is expected to start next spring and to close Mill Street to cars for "
        "eighteen months. The project will cost 310 million euros, two thirds of it from the "
        "national transport fund. Shop owners on Mill Street asked for compensation during "
        "the works; the council promised a support scheme but gave no figure."
    ),
}

# (id, parent id, author, text, extra fields): a thread as readers would write it.
THREAD: list[tuple[str, str | None, str, str, dict[str, Any]]] = [
    (
        "d-1",
        None,
        "Maria Lindqvist",
        "Finally. I take the 14 bus to campus every day and it is packed by 8 am. A tram every "
        "six minutes would change my mornings completely.",
        {},
    ),
    (
        "d-2",
        "d-1",
        "Tom Berger",
        "Same here, but eighteen months of Mill Street closed is a long time. I hope they "
        "phase the works so the bakery and the bike shop survive it.",
        {},
    ),
    (
        "d-3",
        None,
        "Ahmed Karimi",
        "Does anyone know whether the support scheme covers rent, or only lost revenue? My "
        "family's shop is on Mill Street.",
        {"inline_quote": "the council promised a support scheme but gave no figure"},
    ),
    (
        "d-4",
        None,
        "J. Okafor",
        "310 million for 6 km sounds like a lot until you compare it with the ring road "
        "widening, which cost more and moved the traffic jam two exits further.",
        {"inline_quote": "The project will cost 310 million euros"},
    ),
    (
        "d-5",
        "d-4",
        "roadwarrior77",
        "You're a complete idiot. Only a moron would believe these clowns, shut up and go "
        "back to your bike, you stupid loser.",
        {},
    ),
    (
        "d-6",
        None,
        "Best Deals Online",
        "Great article!!! Make $5000 a week from home, click here http://bit.ly/cash-now "
        "and http://cheap-pills.top/buy for CHEAP pills, free money, limited offer, visit "
        "http://win-prize.xyz now!!!",
        {"author_email": "deals@mailinator.com", "author_url": "http://cheap-pills.top"},
    ),
    (
        "d-7",
        None,
        "Lucía Fernández",
        "Vivo cerca de la universidad y me parece una gran noticia. Espero que el tranvía "
        "funcione también los fines de semana y por la noche.",
        {"language": "es"},
    ),
    (
        "d-8",
        None,
        "Henrik Sørensen",
        "I sat through the whole meeting, so let me add some context the article leaves out. "
        "First, the 9 to 4 vote hides how close this came: two of the yes votes were "
        "conditional on the compensation scheme, which is why the council promised one "
        "without a number.\n\nSecond, the route was changed in October. The first plan ran "
        "along the river embankment, which would have been cheaper but needed a new bridge "
        "permit from the national water authority, and nobody wanted to wait three more "
        "years for that.\n\nThird, the eighteen months on Mill Street are the contractor's "
        "estimate for the worst case. Similar projects in other cities of this size finished "
        "their street sections in about a year when the works ran in two shifts, which the "
        "council can still require in the tender.\n\nFinally, the operating costs were barely "
        "discussed. Fares will cover perhaps a third; the rest comes from the city budget "
        "every year, and that is the number I would like the Ledger to follow up on.",
        {},
    ),
    (
        "d-9",
        "d-5",
        "Maria Lindqvist",
        "Please keep it civil. J. made a fair point about the ring road costs.",
        {},
    ),
    (
        "d-10",
        None,
        "grumpy_commuter",
        "This is the stupidest thing I have read all week, the writer clearly knows nothing.",
        {},
    ),
    (
        "d-11",
        "d-3",
        "Tram Fan Blog",
        "The support scheme in Tramstadt covered rent, see my write-ups: "
        "https://tramfan.example/one https://tramfan.example/two "
        "https://tramfan.example/three https://tramfan.example/four",
        {},
    ),
]


@dataclass
class DemoSite:
    site_id: str
    api_key: str
    email: str
    password: str


def create_demo_site(name: str) -> DemoSite:
    """A site wired to the local listener and a moderator for it (a fresh pair every run)."""
    from civil.moderation.accounts import create_moderator
    from civil.sites import create_site

    settings = load_settings()
    password = secrets.token_urlsafe(12)
    with open_database().session() as session:
        creds = create_site(
            session,
            name=name,
            callback_url=LISTENER_URL,
            policy=None,
            allow_private=settings.allow_private_callbacks,
        )
        email = f"demo-{creds.site_id.removeprefix('site_')}@civil.localhost"
        create_moderator(session, email, password, [creds.site_id])
    return DemoSite(creds.site_id, creds.api_key, email, password)


def comment_body(
    comment_id: str, parent: str | None, author: str, text: str, extra: dict[str, Any]
) -> dict[str, Any]:
    handle = author.lower().replace(" ", ".").replace("'", "")
    return {
        "id": comment_id,
        "article": ARTICLE,
        "parent_id": parent,
        "author": {
            "id": "u-" + handle,
            "name": author,
            "email": extra.get("author_email", f"{handle}@readers.example"),
            "url": extra.get("author_url"),
            "ip": f"198.51.100.{10 + len(handle)}",
            "user_agent": "Mozilla/5.0 (civil demo)",
        },
        "content": text,
        "content_type": "text/plain",
        "inline_quote": extra.get("inline_quote"),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "honeypot": None,
        "language": extra.get("language", "en"),
    }


def await_decision(
    base: str, site: DemoSite, body: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """Post the comment, waiting for the decision (`?wait=`), then poll until it is decided."""
    headers = {"Authorization": f"Bearer {site.api_key}"}
    url = f"{base}/v1/sites/{site.site_id}/comments"
    response = requests.post(url + "?wait=10", json=body, headers=headers, timeout=30)
    if response.status_code not in (200, 202):
        raise click.ClickException(f"{body['id']}: HTTP {response.status_code} {response.text}")
    answer = response.json()
    deadline = time.monotonic() + timeout
    while answer.get("status") == "pending" and time.monotonic() < deadline:
        time.sleep(0.5)
        answer = requests.get(f"{url}/{body['id']}", headers=headers, timeout=10).json()
    return answer


def show(body: dict[str, Any], answer: dict[str, Any]) -> None:
    from cli.listen import STATUS_COLOURS

    status = str(answer.get("status"))
    what = "reply to " + body["parent_id"] if body["parent_id"] else "comment"
    if body["inline_quote"]:
        what = "inline note"
    snippet = body["content"].replace("\n", " ")
    snippet = snippet[:60] + ("…" if len(snippet) > 60 else "")
    click.echo(
        click.style(f"{body['id']:<4}", bold=True)
        + f" {click.style(f'{status:<8}', fg=STATUS_COLOURS.get(status), bold=True)}"
        + f" {what:<12} {body['author']['name']}: {snippet}"
    )
    for reason in (answer.get("decision") or {}).get("reasons") or []:
        if reason.get("code") == "clean":
            continue
        click.echo(
            "          "
            + click.style(str(reason.get("code")), fg="magenta")
            + f"  {reason.get('detail', '')}"
        )


def undelivered(site_id: str) -> int:
    """The site's callback events not delivered yet."""
    from sqlalchemy import func, select

    from civil.models import Event

    with open_database().session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.site_id == site_id, Event.status != "delivered")
            )
            or 0
        )


def service_up(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=3).status_code == 200
    except requests.RequestException:
        return False


@click.command("demo")
@click.option("--url", default=None, help="The running Civil (default http://127.0.0.1:PORT).")
@click.option("--name", default="Demo: The Riverside Ledger", show_default=True)
@click.option(
    "--timeout",
    type=float,
    default=180.0,
    show_default=True,
    help="Seconds to wait for each decision (the first waits for the models to load).",
)
def demo(url: str | None, name: str, timeout: float) -> None:
    """Post a demo thread to the running `civil run` and show each decision as it arrives."""
    base = (url or f"http://127.0.0.1:{load_settings().port}").rstrip("/")
    if not service_up(base):
        raise click.ClickException(f"no Civil answers at {base}: start it with `make run` first")
    try:
        site = create_demo_site(name)
    except Exception as exc:
        fail(exc)
    listener: Listener | None = None
    try:
        listener = Listener(secrets_from_database).start()
        callbacks = f"callbacks: verified here on {LISTENER_URL}"
    except OSError:
        callbacks = f"callbacks: to the `civil listen` already running on port {LISTENER_PORT}"
    click.echo(click.style(f"{name}", bold=True) + f"  site {site.site_id}  ({callbacks})")
    click.echo(f"article: {ARTICLE['title']}\n")
    decided = 0
    try:
        for comment_id, parent, author, text, extra in THREAD:
            body = comment_body(comment_id, parent, author, text, extra)
            answer = await_decision(base, site, body, timeout)
            show(body, answer)
            decided += answer.get("status") != "pending"
        if listener is not None:
            # Every event the decisions produced (replies add comment.reply_approved).
            deadline = time.monotonic() + 30
            while undelivered(site.site_id) and time.monotonic() < deadline:
                time.sleep(0.3)
            good = sum(c.verified for c in listener.received)
            click.echo(f"\n{good} signed callbacks received and verified")
    finally:
        if listener is not None:
            listener.stop()
    click.echo(
        "\n"
        + click.style("Open the workspace: ", bold=True)
        + f"{base}/moderate\n  email     {site.email}\n  password  {site.password}\n"
        + "Send callbacks to your terminal from now on: civil listen\n"
        + "A real site: civil sites create --name … --callback-url https://…  (see README)"
    )
    if decided < len(THREAD):
        raise click.ClickException(f"only {decided} of {len(THREAD)} comments were decided")
