"""The moderator workspace in real headless Chromium against the real server.

gunicorn serves the app (the `civil api` command line) over PostgreSQL and Redis, a real Celery
worker scores the comments with the shipped linear model and delivers the callbacks to a
loopback receiver. A missing /usr/bin/chromium fails these tests; they are never skipped.
Set SCREENSHOT_DIR=docs/screenshots to refresh the README's screenshots.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from civil.models import AuditEntry, Comment, Event
from cli.supervisor import api_command
from tests.factories import comment_body
from tests.integration.conftest import ROOT, Stack
from tests.support.moderation import moderator
from tests.support.receiver import Receiver

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse 1"
# Pre-moderation holds everything the policy would not reject.
# Pre-moderation, and spam held rather than rejected or discarded: the test works the queue.
POLICY = {
    "mode": "pre",
    "max_links": 5,
    "ip_rate_per_minute": 100,
    "spam_threshold": 1.0,
    "spam_discard_threshold": 1.0,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn serving the stack's settings on a free loopback port."""

    def __init__(self, stack: Stack) -> None:
        self.port = free_port()
        log = open(stack.tmp / "api.log", "ab")  # noqa: SIM115 - closed in stop()
        self.log = log
        self.proc = subprocess.Popen(
            api_command("127.0.0.1", self.port, 1),
            env=stack.env(),
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        # localhost, not 127.0.0.1: browsers keep Secure cookies on http://localhost.
        self.url = f"http://localhost:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(f"API never came up: {stack.logs()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def served(pg_redis_stack_linear: Stack) -> Iterator[tuple[Stack, Server]]:
    server = Server(pg_redis_stack_linear)
    yield pg_redis_stack_linear, server
    server.stop()


@pytest.fixture
def pg_redis_stack_linear(make_stack: Any, pg_url: str, redis_url: str) -> Stack:
    stack = make_stack(database_url=pg_url, broker_url=redis_url, toxicity_model="linear")
    stack.start_worker()
    return stack


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    target = os.environ.get("SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in folder.glob("*.png"):
            shutil.copy(png, Path(target) / png.name)


def post_all(stack: Stack, creds: Any, bodies: list[dict[str, Any]]) -> dict[str, int]:
    for body in bodies:
        assert stack.post(creds, body).status_code == 202
    for body in bodies:
        view = stack.wait_decided(creds, body["id"])
        assert view["status"] == "held", view["decision"]["reasons"]
    with stack.db.session() as session:
        rows = session.execute(select(Comment.external_id, Comment.id)).all()
    return {external: internal for external, internal in rows}


def log_in(page: Any, url: str, email: str) -> None:
    page.goto(f"{url}/moderate")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Review queue").wait_for()


def wait_dead_letter(stack: Stack, site_id: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with stack.db.session() as session:
            found = session.scalar(
                select(Event.id).where(Event.site_id == site_id, Event.status == "dead")
            )
        if found:
            return str(found)
        time.sleep(0.2)
    raise AssertionError(f"no dead letter for {site_id}: {stack.logs()}")


def status_of(stack: Stack, comment_id: int) -> str:
    with stack.db.session() as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        return comment.status


def test_review_approve_reject_bulk_and_ops_in_chromium(
    served: tuple[Stack, Server], browser: Any, receiver: Receiver, shots: Path
) -> None:
    stack, server = served
    creds = stack.site(receiver, **POLICY)
    spammer = {"id": "u-spam", "name": "Deals4U", "ip": "192.0.2.77"}
    bodies = [
        comment_body(
            id="kind",
            author={"id": "u-ann", "name": "Ann Reader", "email": "ann@example.org"},
            content="Protected bike lanes made my commute safer. Thanks for covering the vote.",
            inline_quote="The council voted 7-2 to build protected lanes on Main Street.",
        ),
        comment_body(
            id="rude",
            author={"id": "u-troll", "name": "Troll", "ip": "198.51.100.4"},
            content="What a dumb article, the writer is clueless.",
        ),
        comment_body(
            id="reply",
            parent_id="kind",
            author={"id": "u-bo", "name": "Bo"},
            content="Same here, my kids can finally ride to school.",
        ),
        *[
            comment_body(
                id=f"spam-{n}",
                author=spammer,
                content=f"Cheap watches {n}! http://deals.example/{n} http://deals.example/b{n}",
            )
            for n in range(3)
        ],
    ]
    ids = post_all(stack, creds, bodies)
    moderator(stack.db, "mod@example.org", [creds.site_id])
    moderator(stack.db, "admin@example.org", [], admin=True)

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    log_in(page, server.url, "mod@example.org")
    assert page.locator("article.item").count() == 6
    # The toxicity model's spans are highlighted in the rude comment.
    rude = page.locator(f"#item-{ids['rude']}")
    assert rude.locator("mark").count() >= 1
    assert "dumb" in " ".join(rude.locator("mark").all_inner_texts()).lower()
    assert page.locator(f"#item-{ids['kind']} blockquote.quote").is_visible()
    page.goto(f"{server.url}/moderate/comments/{ids['rude']}")
    assert "dumb" in " ".join(page.locator("p.content mark").all_inner_texts()).lower()
    assert page.locator("tr.crossed-hold", has_text="toxicity").count() >= 1
    page.screenshot(path=str(shots / "item.png"), full_page=True)
    page.goto(f"{server.url}/moderate")

    # Keyboard: j focuses the first (oldest) item, a approves it.
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == f"item-{ids['kind']}"
    page.keyboard.press("a")
    page.locator("#status", has_text="Approved").wait_for()
    assert status_of(stack, ids["kind"]) == "approved"
    # Focus moved on to the next item: r opens the reason, Enter rejects.
    assert page.evaluate("document.activeElement.id") == f"item-{ids['rude']}"
    page.keyboard.press("r")
    page.locator(f"#reason-{ids['rude']}").select_option("abusive")
    page.locator(f"#note-{ids['rude']}").fill("name-calling")
    page.keyboard.press("Enter")
    page.locator("#status", has_text="Rejected").wait_for()
    assert status_of(stack, ids["rude"]) == "rejected"

    # The site hears about both as comment.moderated, decided by a moderator.
    got = receiver.wait_for(
        lambda rs: (
            {r.body["data"]["comment_id"] for r in rs if r.body["type"] == "comment.moderated"}
            >= {"kind", "rude"}
        )
    )
    moderated = [r for r in got if r.body["type"] == "comment.moderated"]
    assert all(r.verified for r in moderated)
    assert {r.body["data"]["decision"]["decided_by"] for r in moderated} == {"moderator"}

    # Item detail of the reply: parent shown; approving it tells the parent's author.
    page.goto(f"{server.url}/moderate/comments/{ids['reply']}")
    assert "In reply to Ann Reader" in page.locator(".parent").inner_text()
    page.get_by_role("button", name="Approve a", exact=True).click()
    page.locator("#status", has_text="Approved").wait_for()
    replies = receiver.wait_for(
        lambda rs: any(r.body["type"] == "comment.reply_approved" for r in rs)
    )
    [reply] = [r for r in replies if r.body["type"] == "comment.reply_approved"]
    assert reply.body["data"]["parent_author"]["id"] == "u-ann"

    # Bulk: everything held from the spammer's IP: dry run first, then apply.
    page.goto(f"{server.url}/moderate")
    page.get_by_label("IP", exact=True).fill("192.0.2.77")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**ip=192.0.2.77**")
    assert page.locator("article.item").count() == 3
    page.locator("details.bulk summary").click()
    page.get_by_label("Action", exact=True).select_option("spam")
    page.get_by_role("button", name="Preview (dry run)").click()
    assert page.locator("#bulk-count").get_attribute("data-matched") == "3"
    assert {status_of(stack, ids[f"spam-{n}"]) for n in range(3)} == {"held"}
    page.screenshot(path=str(shots / "bulk-dry-run.png"), full_page=True)
    page.get_by_role("button", name="Apply to 3 comments").click()
    assert page.locator("#bulk-done").get_attribute("data-applied") == "3"
    assert {status_of(stack, ids[f"spam-{n}"]) for n in range(3)} == {"rejected"}
    with stack.db.session() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.action, e.actor) for e in entries][:3] == [
        ("approve", "mod@example.org"),
        ("reject", "mod@example.org"),
        ("approve", "mod@example.org"),
    ]
    assert len({e.bulk_id for e in entries[3:]}) == 1 and len(entries) == 6

    # A second site whose endpoint answers 410 Gone: its callback is dead-lettered.
    gone = Receiver().start()
    try:
        gone.script.append((410, {}))
        gazette = stack.site(gone, **POLICY)
        post_all(stack, gazette, [comment_body(id="g-1", content="A comment on the Gazette")])
        dead_id = wait_dead_letter(stack, gazette.site_id)
    finally:
        gone.stop()

    # Ops is for admins only.
    page.goto(f"{server.url}/moderate/ops")
    assert page.locator("[data-code=http_error]").is_visible()
    page.get_by_role("button", name="Log out").click()
    log_in(page, server.url, "admin@example.org")
    page.goto(f"{server.url}/moderate/ops")
    assert page.locator("td.ok", has_text="online").count() >= 1
    assert page.locator("#ops-p50").inner_text().endswith(" s")
    # The last hour as pictures: server-rendered SVG, a bar for the decisions just made.
    for key in ("throughput", "latency", "queue-age"):
        assert page.locator(f"#chart-{key} svg[role=img]").is_visible()
    assert page.locator("#chart-throughput rect.bar").count() >= 1
    assert page.locator("#chart-latency circle.dot").count() >= 1
    assert page.locator(f"tr:has-text('{dead_id}') button", has_text="Replay").is_visible()
    page.screenshot(path=str(shots / "ops.png"), full_page=True)
    page.locator(f"tr:has-text('{dead_id}') button", has_text="Replay").click()
    page.locator("#status", has_text=f"Delivery {dead_id} queued again").wait_for()
    page.close()
    assert {p.name for p in shots.glob("*.png")} == {
        "item.png",
        "bulk-dry-run.png",
        "ops.png",
    }


def test_csrf_refusal_and_site_isolation_in_chromium(
    served: tuple[Stack, Server], browser: Any
) -> None:
    stack, server = served
    site_a, site_b = stack.site(**POLICY), stack.site(**POLICY)
    ids = post_all(stack, site_a, [comment_body(id="a-1", content="Only site A may see this")])
    ids |= post_all(stack, site_b, [comment_body(id="b-1", content="A comment on site B")])
    moderator(stack.db, "b@example.org", [site_b.site_id])

    page = browser.new_page()
    log_in(page, server.url, "b@example.org")
    assert page.locator("article.item").count() == 1
    assert "Only site A" not in page.content()
    response = page.goto(f"{server.url}/moderate/comments/{ids['a-1']}")
    assert response is not None and response.status == 404

    # A forged token (as a cross-site form would have) is refused and changes nothing.
    page.goto(f"{server.url}/moderate")
    page.evaluate(
        """() => {
        document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'forged');
        document.querySelector('meta[name=csrf-token]').content = 'forged';
    }"""
    )
    page.get_by_role("button", name="Approve a", exact=True).click()
    page.locator("#status", has_text="refused").wait_for()
    assert status_of(stack, ids["b-1"]) == "held"

    # A new held comment appears without a reload (the list polls every 10 s).
    post_all(stack, site_b, [comment_body(id="b-2", content="Arrived while the page was open")])
    page.locator("#queue article.item", has_text="Arrived while").wait_for(timeout=25_000)
    assert page.locator("#queue-count").inner_text().startswith("2 comments")
    page.close()


def test_a_1080p_screen_shows_at_least_four_held_comments(
    served: tuple[Stack, Server], browser: Any, shots: Path
) -> None:
    """Compact cards: comment, article, the crossed scores, reasons as chips, actions."""
    stack, server = served
    creds = stack.site(**POLICY)
    texts = [
        "The lanes on Main Street are fine, but nobody asked the shop owners about deliveries. "
        "Loading bays should have been part of the plan from the start.",
        "What a dumb article, the writer is clueless.",
        "I cycle this route every day with two kids. It has been frightening for years, and "
        "the painted lines did nothing. Physical separation is what makes the difference.",
        "Seven to two is a landslide; the two no votes said they wanted a study first, which "
        "the city already did in 2024.",
        "Cheap bike parts! http://deals.example/1 http://deals.example/2",
        "Will the lanes be cleared of snow in winter, or only the car lanes?",
    ]
    bodies = [
        comment_body(
            id=f"h-{n}",
            content=text,
            author={"id": f"u-h{n}", "name": f"Reader {n}", "ip": f"198.51.100.{n + 10}"},
            inline_quote="The council voted 7-2 to build protected lanes." if n == 3 else None,
            parent_id="h-0" if n == 2 else None,
        )
        for n, text in enumerate(texts)
    ]
    ids = post_all(stack, creds, bodies)
    moderator(stack.db, "dense@example.org", [creds.site_id])

    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    log_in(page, server.url, "dense@example.org")
    assert page.locator("article.item").count() == len(texts)
    visible = page.evaluate(
        """() => Array.from(document.querySelectorAll('#queue article.item')).filter(el => {
            const r = el.getBoundingClientRect();
            return r.top >= 0 && r.bottom <= window.innerHeight && r.width > 0;
        }).length"""
    )
    page.screenshot(path=str(shots / "queue.png"), full_page=False)
    assert visible >= 4, f"only {visible} whole cards fit on a 1920x1080 screen"

    rude = page.locator(f"#item-{ids['h-1']}")
    # On the card: reasons as chips, only the scores that crossed a threshold.
    assert rude.locator(".chips .chip", has_text="toxic").first.is_visible()
    assert 1 <= rude.locator(".score-top").count() <= 2
    assert "toxicity" in rude.locator(".score-top").first.inner_text()
    # The full table and the author's history are one click away.
    table = rude.locator("section.scores table")
    assert not table.is_visible() and not rude.locator("section.author").is_visible()
    rude.locator("details.more summary").click()
    assert table.is_visible() and rude.locator("section.author").is_visible()
    assert table.locator("tbody tr").count() == 7  # six toxicity labels and spam

    # The keyboard flow is unchanged: j selects the first card, a approves it.
    page.goto(f"{server.url}/moderate")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == f"item-{ids['h-0']}"
    page.keyboard.press("a")
    page.locator("#status", has_text="Approved").wait_for()
    assert status_of(stack, ids["h-0"]) == "approved"
    page.close()
