"""Calibration and shadow pages in real headless Chromium against the real server.

gunicorn over PostgreSQL and Redis, a real Celery worker deciding with a keyword model and
recording the shadow candidate's decisions; moderators' verdicts are real actions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from civil.models import Comment, PolicyVersion, Site
from civil.moderation import actions
from civil.moderation.accounts import Identity
from civil.tuning import shadow
from tests.factories import comment_body
from tests.integration.conftest import Stack
from tests.integration.test_moderate_browser import (  # noqa: F401 - fixtures
    Server,
    browser,
    log_in,
    shots,
)
from tests.support.moderation import moderator

KEYWORD = "python:tests.support.scorers:KeywordScorer"
POLICY = {"repeat_window_minutes": 0, "ip_rate_per_minute": 1000, "author_rate_per_minute": 1000}


@pytest.fixture
def served(make_stack: Any, pg_url: str, redis_url: str) -> Any:
    stack = make_stack(database_url=pg_url, broker_url=redis_url, toxicity_model=KEYWORD)
    stack.start_worker()
    server = Server(stack)
    yield stack, server
    server.stop()


def test_calibration_and_shadow_pages_in_chromium(
    served: tuple[Stack, Server],
    browser: Any,  # noqa: F811 - the fixture imported above
    shots: Path,  # noqa: F811
) -> None:
    stack, server = served
    creds = stack.site(**POLICY)
    with stack.db.session() as session:
        shadow.attach_candidate(
            session,
            session.get(Site, creds.site_id),
            policy_changes={"hold_thresholds": {"toxicity": 0.4}},
            model=None,
            actor="ed@example.org",
            why="hold mild insults",
        )
    texts = ["you idiot"] * 9 + ["a stupid plan"] * 12 + ["a silly idea"] * 12 + ["Thanks"] * 7
    bodies = [comment_body(content=f"{t} {n}") for n, t in enumerate(texts)]
    for body in bodies:
        assert stack.post(creds, body).status_code == 202
    for body in bodies:
        stack.wait_decided(creds, body["id"])
    mod_id, _ = moderator(stack.db, "mod@example.org", [creds.site_id])
    who = Identity(mod_id, "mod@example.org", False, frozenset({creds.site_id}))
    with stack.db.session() as session:
        for comment in session.scalars(select(Comment).order_by(Comment.id)):
            bad = "idiot" in comment.content or "stupid" in comment.content
            if bad:
                actions.act(session, who, comment.id, "reject", "offensive")
            else:
                actions.act(session, who, comment.id, "approve")

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    log_in(page, server.url, "mod@example.org")
    page.get_by_role("link", name="Policies").click()
    page.get_by_role("link", name="Calibration").click()
    page.get_by_role("heading", name="Calibration: Site").wait_for()
    tox = page.locator("#cal-toxicity")
    assert "40 labelled comments (21 bad, 19 fine)" in tox.inner_text()
    # The plot: volume bars, a precision line, today's thresholds and the proposal marked.
    assert tox.locator("svg rect.bar").count() == 99
    assert tox.locator("svg polyline.line").count() == 1
    assert tox.locator("svg line.mark-hold title").text_content() == "hold today 0.60"
    assert tox.locator("svg line.mark-proposed-hold title").text_content() == "proposed hold 0.46"
    # Only approvals label threat: no positives, so it says so instead of guessing.
    assert "Too few labels to calibrate" in page.locator("#cal-threat").inner_text()
    page.screenshot(path=str(shots / "calibration.png"), full_page=True)
    page.get_by_label("Why").fill("moderators say silly is fine")
    page.get_by_role("button", name="Apply proposal").click()
    page.get_by_role("heading", name="Policy: Site").wait_for()
    assert "Policy version 2 applied" in page.content()
    with stack.db.session() as session:
        row = session.scalar(select(PolicyVersion).where(PolicyVersion.version == 2))
        assert (row.source, row.actor) == ("calibration", "mod@example.org")
        assert row.diff["hold_thresholds.toxicity"] == {"from": 0.6, "to": 0.46}

    page.goto(f"{server.url}/moderate/sites/{creds.site_id}/shadow")
    summary = page.locator("#summary").inner_text()
    assert "40 decisions" in summary and "12 would change" in summary
    cell = page.locator("tr.cell").first
    text = cell.inner_text()
    assert "approve → hold" in text and "toxic 12" in text and "live 12" in text
    assert cell.locator("li a").count() == 3
    page.screenshot(path=str(shots / "shadow.png"), full_page=True)
    page.get_by_role("button", name="Promote candidate").click()
    page.get_by_role("heading", name="Policy: Site").wait_for()
    assert "Candidate promoted: policy version 3" in page.content()
    with stack.db.session() as session:
        site = session.get(Site, creds.site_id)
        assert site.candidate is None and site.policy_version == 3
        assert site.policy["hold_thresholds"]["toxicity"] == 0.4
