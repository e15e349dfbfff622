"""Moderator notifications with a real SMTP server (aiosmtpd) and a loopback webhook receiver."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from civil.models import Event, Notification, Site, utcnow
from civil.notify import notify_moderators
from civil.sites import create_site, new_signing_secret
from tests.support.moderation import decided_comment
from tests.support.receiver import Receiver
from tests.support.smtp import Inbox, free_port, smtp_server

PUBLIC = "https://civil.example"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[Receiver]:
    # Incoming webhooks are not signed; the receiver's secret only lets it start.
    receiver = Receiver(secret=new_signing_secret()).start()
    yield receiver
    receiver.stop()


def _settings(backend: Any, inbox: Inbox | None, **extra: Any) -> Any:
    return dataclasses.replace(
        backend.settings,
        public_url=PUBLIC,
        smtp_host="127.0.0.1",
        smtp_port=inbox.port if inbox else free_port(),
        smtp_from="civil@civil.example",
        **extra,
    )


def _site(backend: Any, hook: Receiver | None, **notify: Any) -> str:
    rules = {"emails": ["desk@example.org"], "window_minutes": 60, **notify}
    if hook is not None:
        rules["webhook_url"] = hook.url
    r = backend.admin("POST", "/sites", json={"name": "Daily Planet", "notify": rules})
    assert r.status_code == 201, r.json
    return r.json["site_id"]


def _held(backend: Any, site_id: str, n: int) -> None:
    for _ in range(n):
        decided_comment(backend.db, site_id, toxicity=0.7)


def _rows(backend: Any, site_id: str) -> list[Notification]:
    with backend.db.session() as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.site_id == site_id)
                .order_by(Notification.id)
            )
        )


def test_a_long_held_queue_is_told_once_per_window_by_webhook_and_email(
    backend, inbox, hook
) -> None:
    site_id = _site(backend, hook, held_over=2, oldest_minutes=100_000)
    settings = _settings(backend, inbox)
    _held(backend, site_id, 2)
    assert notify_moderators(backend.db, settings) == 0  # 2 held is not more than 2
    _held(backend, site_id, 1)
    assert notify_moderators(backend.db, settings) == 1
    [posted] = hook.wait_for(lambda got: len(got) >= 1)
    link = f"{PUBLIC}/moderate?view=held&site_id={site_id}"
    assert "3 comments are held for review" in posted.body["text"] and link in posted.body["text"]
    [mail] = inbox.wait_for(1)
    assert mail["To"] == "desk@example.org" and mail["From"] == "civil@civil.example"
    assert "Daily Planet" in mail["Subject"] and "held queue" in mail["Subject"]
    assert link in mail.get_content() and inbox.recipients == [["desk@example.org"]]
    # Inside the window: nothing more, however often the schedule runs.
    assert notify_moderators(backend.db, settings) == 0
    assert notify_moderators(backend.db, settings) == 0
    later = utcnow() + timedelta(minutes=61)
    assert notify_moderators(backend.db, settings, now=later) == 1
    assert len(hook.wait_for(lambda got: len(got) >= 2)) == 2 and len(inbox.wait_for(2)) == 2
    rows = _rows(backend, site_id)
    assert [r.kind for r in rows] == ["held_queue", "held_queue"]
    assert rows[0].detail == {"held": 3, "limit": 2}
    assert rows[0].channels == {"webhook": "sent", "email": "sent"}


def test_the_oldest_held_comment_waiting_too_long(backend, inbox) -> None:
    site_id = _site(backend, None, held_over=100, oldest_minutes=30)
    settings = _settings(backend, inbox)
    _held(backend, site_id, 1)
    assert notify_moderators(backend.db, settings) == 0
    assert notify_moderators(backend.db, settings, now=utcnow() + timedelta(minutes=31)) == 1
    [mail] = inbox.wait_for(1)
    assert "oldest held comment has waited 3" in mail.get_content()  # 31 minutes or so
    assert [r.kind for r in _rows(backend, site_id)] == ["oldest_held"]


def test_dead_letters_are_told_with_a_link_to_ops(backend, inbox, hook) -> None:
    site_id = _site(backend, hook, held_over=100, oldest_minutes=100_000)
    settings = _settings(backend, inbox)

    def dead() -> None:
        with backend.db.session() as session:
            session.add(
                Event(
                    id="evt_" + secrets.token_hex(8),
                    site_id=site_id,
                    type="comment.decided",
                    payload={},
                    status="dead",
                    dead_at=utcnow(),
                )
            )

    assert notify_moderators(backend.db, settings) == 0
    dead()
    dead()
    assert notify_moderators(backend.db, settings) == 1
    [posted] = hook.wait_for(lambda got: len(got) >= 1)
    assert "2 callbacks were dead-lettered" in posted.body["text"]
    assert f"{PUBLIC}/moderate/ops" in posted.body["text"]
    later = utcnow() + timedelta(minutes=61)
    assert notify_moderators(backend.db, settings, now=later) == 0  # none new since the notice
    dead()
    assert notify_moderators(backend.db, settings, now=later) == 1
    assert (
        "1 callbacks were dead-lettered" in hook.wait_for(lambda got: len(got) >= 2)[1].body["text"]
    )


def test_a_channel_that_is_down_does_not_stop_the_other_and_nothing_sent_is_retried(
    backend, hook
) -> None:
    site_id = _site(backend, hook, held_over=0, oldest_minutes=100_000)
    _held(backend, site_id, 1)
    no_smtp = _settings(backend, None)  # nothing listens on that port
    assert notify_moderators(backend.db, no_smtp) == 1
    [row] = _rows(backend, site_id)
    assert row.channels["webhook"] == "sent" and "Connection" in row.channels["email"]
    # Both down: no window starts, so the next run tries again.
    other = _site(backend, None, held_over=0, oldest_minutes=100_000)
    _held(backend, other, 1)
    assert notify_moderators(backend.db, no_smtp) == 0 and _rows(backend, other) == []
    with smtp_server() as inbox:
        assert notify_moderators(backend.db, _settings(backend, inbox)) == 1
        assert inbox.wait_for(1)[0]["To"] == "desk@example.org"
    assert len(_rows(backend, other)) == 1


def test_a_site_with_notices_off_or_no_channel_is_not_told(backend, inbox, hook) -> None:
    off = _site(backend, hook, held_over=0, enabled=False)
    with backend.db.session() as session:
        silent = create_site(session, name="Silent", callback_url=None).site_id
    _held(backend, off, 1)
    _held(backend, silent, 1)
    assert notify_moderators(backend.db, _settings(backend, inbox, notify_held_over=0)) == 0
    assert hook.received == [] and inbox.messages == []
    with backend.db.session() as session:
        assert session.get(Site, silent).notify is None
