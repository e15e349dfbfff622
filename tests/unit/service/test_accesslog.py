"""The access log never carries an API key sent in the query string."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from cli.supervisor import ACCESS_LOG_FORMAT, api_command
from service.accesslog import RedactingLogger, redact


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("key=civ_abc", "key=[redacted]"),
        ("a=1&api_key=civ_abc&b=2", "a=1&api_key=[redacted]&b=2"),
        ("POST /v1alpha1/comments:analyze?key=civ_abc HTTP/1.1", None),
        ("GET /1.2/usage-limit?API_KEY=civ_abc HTTP/1.1", None),
        (
            "GET /v1/sites/s/comments/c?wait=2 HTTP/1.1",
            "GET /v1/sites/s/comments/c?wait=2 HTTP/1.1",
        ),
        ("monkey=1&keys=2", "monkey=1&keys=2"),
        (
            "comment_author_email=civ_abc%40x.example&comment_content=civ_abc&is_test=1",
            "comment_author_email=[redacted]&comment_content=[redacted]&is_test=1",
        ),
        ("GET /1.1/comment-check?user_ip=civ_abc&comment_author=civ_abc HTTP/1.1", None),
    ],
)
def test_key_parameters_are_masked(raw, expected):
    masked = redact(raw)
    assert "civ_abc" not in masked
    if expected is not None:
        assert masked == expected


def test_gunicorn_logger_masks_the_request_line_and_query():
    cfg = Config()
    cfg.set("access_log_format", ACCESS_LOG_FORMAT)
    logger = RedactingLogger(cfg)
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/v1alpha1/comments:analyze?key=civ_secret",
        "PATH_INFO": "/v1alpha1/comments:analyze",
        "QUERY_STRING": "key=civ_secret",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.1",
    }
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(resp, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    assert "civ_secret" not in atoms["r"] and "civ_secret" not in atoms["q"]
    line = json.loads(ACCESS_LOG_FORMAT % atoms)
    assert line["request"] == "POST /v1alpha1/comments:analyze?key=[redacted] HTTP/1.1"


def test_the_api_runs_with_the_redacting_logger():
    command = api_command("127.0.0.1", 8000, 1)
    assert command[command.index("--logger-class") + 1] == "service.accesslog.RedactingLogger"
