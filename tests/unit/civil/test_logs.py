"""Log formats and levels: the scheduler's heartbeat and Celery's bookkeeping stay out of INFO."""

from __future__ import annotations

import io
import json
import logging

import pytest

from civil import logs


@pytest.fixture
def capture(monkeypatch):
    """configure_logging on a clean root logger, writing to a buffer instead of stderr."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = []

    def configure(level: str, fmt: str) -> io.StringIO:
        # Here, not in the fixture's setup: pytest swaps sys.stderr between setup and call.
        stream = io.StringIO()
        monkeypatch.setattr(logs.sys, "stderr", stream)
        logs.configure_logging(level, fmt)
        return stream

    yield configure
    root.handlers, root.level = saved_handlers, saved_level


def celery_lines() -> None:
    """What a worker and beat say at INFO around one periodic dispatcher run."""
    logging.getLogger("celery.beat").info(
        "Scheduler: Sending due task dispatch-deliveries (civil.dispatch_deliveries)"
    )
    logging.getLogger("celery.worker.strategy").info(
        "Task civil.dispatch_deliveries[1f0c] received"
    )
    logging.getLogger("celery.app.trace").info(
        "Task civil.dispatch_deliveries[1f0c] succeeded in 0.004s: 0"
    )


def test_the_periodic_dispatcher_is_silent_at_info(capture):
    stream = capture("INFO", "human")
    celery_lines()
    with logs.bind(comment_id="c-7"):
        logging.getLogger("civil.worker").info("decided %s", "hold", extra={"reasons": ["toxic"]})
    logging.getLogger("celery.app.trace").error("Task civil.score_comment[9] raised: boom")
    out = stream.getvalue()
    assert "dispatch" not in out and "received" not in out and "Sending due task" not in out
    [decided, failed] = out.splitlines()
    assert "INFO" in decided and "worker  decided hold" in decided
    assert "comment_id=c-7" in decided and "reasons=['toxic']" in decided
    assert "ERROR" in failed and "raised: boom" in failed
    assert "\x1b[" not in out  # not a terminal: no colour


def test_the_bookkeeping_is_there_at_debug_as_debug(capture):
    stream = capture("DEBUG", "json")
    celery_lines()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["logger"] for r in records] == [
        "celery.beat",
        "celery.worker.strategy",
        "celery.app.trace",
    ]
    assert {r["level"] for r in records} == {"DEBUG"}


def test_json_stays_the_default(capture, monkeypatch):
    monkeypatch.delenv("CIVIL_LOG_FORMAT", raising=False)
    root = logging.getLogger()
    stream = io.StringIO()
    monkeypatch.setattr(logs.sys, "stderr", stream)
    logs.configure_logging("INFO")  # no format given: the settings' default
    celery_lines()
    with logs.bind(event_id="evt_1"):
        logging.getLogger("civil.worker").info("delivery %s", "dead")
    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "delivery dead" and record["event_id"] == "evt_1"
    assert record["level"] == "INFO"
    assert root.level == logging.INFO
