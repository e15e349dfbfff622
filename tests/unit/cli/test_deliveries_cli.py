"""`civil deliveries replay` publishes through the API's producer (service.broker)."""

import base64
import json
import logging

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from civil.models import Event
from cli import civil
from tests.support.moderation import decided_comment


@pytest.fixture
def run(settings, db, monkeypatch):
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(civil, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return invoke


@pytest.fixture
def dead_event(db, site):
    comment_id = decided_comment(db, site.site_id)
    with db.session() as session:
        event = session.scalar(select(Event).where(Event.comment_id == comment_id))
        event.status = "dead"
        return event.id


def delivery_messages(settings):
    """(task name, args) of every message waiting in the embedded broker's delivery queue."""
    out = []
    for path in sorted((settings.broker_dir / "queue").glob("*.delivery.msg")):
        message = json.loads(path.read_text())
        args = json.loads(base64.b64decode(message["body"]))[0]
        out.append((message["headers"]["task"], args))
    return out


def test_replay_publishes_the_sites_delivery_pass_on_the_delivery_queue(
    run, settings, db, site, dead_event
):
    assert run("deliveries", "replay", "--all-dead") == {"replayed": [dead_event]}
    # One pass for the event's site (the site's other due events go with it).
    assert delivery_messages(settings) == [("civil.deliver_site", [site.site_id])]
    with db.session() as session:
        assert session.get(Event, dead_event).status == "pending"


def test_replay_with_the_broker_down_is_left_to_the_dispatcher(
    run, db, dead_event, monkeypatch, caplog
):
    # The API's publish policy: a few quick retries, then a warning, never a traceback; the
    # event is pending in the outbox, so the dispatcher sends it when its lease runs out.
    monkeypatch.setenv("CIVIL_BROKER_URL", "redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="civil.api"):
        assert run("deliveries", "replay", dead_event) == {"replayed": [dead_event]}
    [record] = [r for r in caplog.records if r.name == "civil.api"]
    assert record.getMessage().startswith("delivery enqueue failed; the dispatcher will send it")
    with db.session() as session:
        assert session.get(Event, dead_event).status == "pending"
