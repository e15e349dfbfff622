"""The Reported and Appeals views in real headless Chromium against gunicorn, PostgreSQL, Redis.

Readers report a comment through the site API until it is held; a moderator upholds the
reports in the Reported view; the author appeals; the moderator overturns it in the Appeals
view. A real worker delivers every callback to a loopback receiver, signed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select

from civil.models import Report
from tests.integration.conftest import Stack
from tests.integration.test_moderate_browser import Server, browser, log_in, status_of
from tests.support.moderation import decided_comment, moderator
from tests.support.receiver import Receiver

__all__ = ["browser"]  # the Chromium fixture, shared with the workspace test


@pytest.fixture
def served(make_stack: Any, pg_url: str, redis_url: str) -> Iterator[tuple[Stack, Server]]:
    stack = make_stack(database_url=pg_url, broker_url=redis_url)
    stack.start_worker(queues="delivery,maintenance")
    server = Server(stack)
    yield stack, server
    server.stop()


def _api(server: Server, creds: Any, method: str, path: str, **kwargs: Any) -> Any:
    return requests.request(
        method,
        f"http://127.0.0.1:{server.port}/v1/sites/{creds.site_id}{path}",
        headers={"Authorization": f"Bearer {creds.api_key}"},
        timeout=10,
        **kwargs,
    )


def _types(receiver: Receiver, comment: str) -> list[str]:
    return [r.body["type"] for r in receiver.received if r.body["data"]["comment_id"] == comment]


def test_reported_and_appeals_queues_in_chromium(
    served: tuple[Stack, Server], browser: Any, receiver: Receiver
) -> None:
    stack, server = served
    creds = stack.site(receiver, report_hold_threshold=2)
    moderator(stack.db, "mod@example.org", [creds.site_id])
    hot = decided_comment(
        stack.db, creds.site_id, id="hot", content="You are all sheep and deserve it."
    )
    calm = decided_comment(stack.db, creds.site_id, id="calm", content="Nice photos of the park.")
    for reporter, reason, target in (
        ("r-1", "abusive", "hot"),
        ("r-2", "hate", "hot"),
        ("r-3", "off_topic", "calm"),
    ):
        r = _api(
            server,
            creds,
            "POST",
            f"/comments/{target}/reports",
            json={"reporter_id": reporter, "reason": reason, "note": f"note from {reporter}"},
        )
        assert r.status_code == 202, r.text
    assert status_of(stack, hot) == "held" and status_of(stack, calm) == "approved"
    # The seeded decisions were recorded in-process (their events wait for the dispatcher);
    # the hold's comment.decided was sent by the API right after the report's commit.
    got = receiver.wait_for(
        lambda rs: any(r.body["data"]["decision"]["decided_by"] == "reports" for r in rs)
    )
    [held] = [r for r in got if r.body["data"]["decision"]["decided_by"] == "reports"]
    assert held.verified and held.body["type"] == "comment.decided"
    assert held.body["data"]["comment_id"] == "hot" and held.body["data"]["status"] == "held"

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    log_in(page, server.url, "mod@example.org")
    workspace = page.get_by_role("navigation", name="Workspace")
    workspace.get_by_role("link", name="Reported").click()
    page.get_by_role("heading", name="Reported by readers").wait_for()
    items = page.locator("ul.reported li.item")
    assert items.count() == 2
    # Most reported first, with its reasons and how many.
    first = items.nth(0)
    assert "Comment hot" in first.locator("h2").inner_text()
    assert first.locator(".report-count").inner_text() == "2 reports"
    reasons = first.locator(".report-reason").all_inner_texts()
    assert sorted(r.split()[0] for r in reasons) == ["abusive", "hate"]
    assert "note from r-1" in first.locator(".notes").inner_text()
    first.get_by_label("Reject reason").select_option("abusive")
    first.get_by_role("button", name="Reject (uphold reports)").click()
    page.locator("#status", has_text="Rejected").wait_for()
    assert status_of(stack, hot) == "rejected"
    assert page.locator("ul.reported li.item").count() == 1  # only "calm" is left
    with stack.db.session() as session:
        outcomes = set(session.scalars(select(Report.outcome).where(Report.comment_id == hot)))
    assert outcomes == {"upheld"}

    # The author appeals the rejection; the moderator overturns it in the Appeals view.
    appeal = _api(server, creds, "POST", "/comments/hot/appeals", json={"note": "It was a joke"})
    assert appeal.status_code == 201, appeal.text
    statement = _api(server, creds, "GET", "/comments/hot").json()["decision"]["statement"]
    assert statement["code"] == "abusive"
    workspace.get_by_role("link", name="Appeals").click()
    page.get_by_role("heading", name="Appeals").wait_for()
    card = page.locator(f"#appeal-{appeal.json()['appeal_id']}")
    assert "It was a joke" in card.locator(".appeal-note").inner_text()
    assert "abusive" in card.inner_text()
    card.get_by_label("Answer (sent to the site)").fill("On reflection, fine")
    card.get_by_role("button", name="Overturn").click()
    page.locator("#status", has_text="overturned").wait_for()
    assert page.locator("ul.appeals li.item").count() == 0
    assert status_of(stack, hot) == "approved"
    got = receiver.wait_for(lambda rs: "comment.appeal_decided" in _types(receiver, "hot"))
    [answer] = [
        r
        for r in got
        if r.body["type"] == "comment.appeal_decided" and r.body["data"]["comment_id"] == "hot"
    ]
    assert answer.verified
    assert answer.body["data"]["appeal"] == {
        "id": appeal.json()["appeal_id"],
        "outcome": "overturned",
        "note": "On reflection, fine",
    }
    assert "comment.moderated" in _types(receiver, "hot")
    page.close()
