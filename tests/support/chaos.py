"""Load and invariants for the chaos tests: nothing lost, decided once, delivered once."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from sqlalchemy import select

from civil.models import Comment, Event
from tests.support.receiver import Receiver as CallbackReceiver


def post_all(stack: Any, site: Any, n: int) -> list[str]:
    """Post n comments; every one must be accepted (stored) whatever else is down."""
    from tests.factories import comment_body

    ids = []
    for _ in range(n):
        body = comment_body()
        r = stack.post(site, body)
        assert r.status_code == 202, r.json
        ids.append(body["id"])
    return ids


def post_accepted(stack: Any, site: Any, n: int) -> tuple[list[str], list[int]]:
    """Post n comments while something is down: (ids accepted with 202, other status codes)."""
    from tests.factories import comment_body

    accepted, refused = [], []
    for _ in range(n):
        body = comment_body()
        r = stack.post(site, body)
        if r.status_code == 202:
            accepted.append(body["id"])
        else:
            # Refused loudly, in the one error shape: the client knows to retry.
            assert r.status_code >= 500 and r.json["error"], (r.status_code, r.json)
            refused.append(r.status_code)
    return accepted, refused


def wait_decided(stack: Any, ids: list[str], timeout: float = 60) -> None:
    """Every comment stored and decided (none lost)."""
    deadline = time.monotonic() + timeout
    while True:
        comments, _ = _rows(stack, ids, events=False)
        pending = sorted(c.external_id for c in comments if c.status == "pending")
        if (len(comments) == len(ids) and not pending) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(comments) == len(ids) and not pending, f"lost: {pending}\n{stack.logs()}"


def wait_settled(
    stack: Any,
    callbacks: CallbackReceiver,
    ids: list[str],
    timeout: float = 90,
    in_flight: int = 0,
) -> None:
    """Every comment decided once, every event delivered, each webhook-id accepted once.

    `in_flight`: deliveries a SIGKILLed worker may have sent but not recorded; the receiver
    accepted those, and they are sent again under the same webhook-id (the receiver's dedupe
    key), so up to that many ids may be accepted twice, never more.
    """
    deadline = time.monotonic() + timeout
    wait_decided(stack, ids, timeout)
    while True:
        _, events = _rows(stack, ids)
        if all(e.status == "delivered" for e in events) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    per_comment = Counter(e.comment_id for e in events)
    assert len(per_comment) == len(ids), f"decided without an event: {per_comment}"
    assert set(per_comment.values()) == {1}, f"double-decided: {per_comment}"
    undelivered = [(e.id, e.status, e.last_error) for e in events if e.status != "delivered"]
    assert not undelivered, f"undelivered: {undelivered}\n{stack.logs()}"
    # Failed attempts (5xx, refused) are re-sent under the same webhook-id; accepted once each.
    got = Counter(
        r.webhook_id
        for r in callbacks.received
        if r.webhook_id in {e.id for e in events} and r.status < 300
    )
    assert set(got) == {e.id for e in events}
    again = [i for i, n in got.items() if n > 1]
    assert all(n <= 2 for n in got.values()) and len(again) <= in_flight, f"duplicates: {got}"
    assert all(r.verified for r in callbacks.received)


def _rows(stack: Any, ids: list[str], events: bool = True) -> tuple[list[Comment], list[Event]]:
    with stack.db.session() as session:
        comments = list(session.scalars(select(Comment).where(Comment.external_id.in_(ids))))
        if not events:
            return comments, []
        found = list(
            session.scalars(select(Event).where(Event.comment_id.in_([c.id for c in comments])))
        )
    return comments, found
