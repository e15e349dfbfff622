"""What `civil run` prints for a person, and the children's command lines for a terminal."""

from __future__ import annotations

import socket
from dataclasses import replace

from cli.banner import banner, for_terminal, local_url, ready_state
from cli.supervisor import api_command, beat_command, worker_command


def test_the_banner_names_urls_data_model_and_broker(settings):
    text = banner(settings, "http://127.0.0.1:8000", {"api": 11, "worker": 12, "beat": 13})
    assert "workspace  http://127.0.0.1:8000/moderate" in text
    assert f"data       {settings.data_dir}" in text
    assert f"model      {settings.toxicity_model}" in text
    assert "folder broker in" in text and "api 11, worker 12, beat 13" in text
    assert "\x1b[" not in text  # stdout is not a terminal here
    redis = replace(settings, broker_url="redis://:hunter2@cache.internal:6379/0")
    shown = banner(redis, "http://127.0.0.1:8000", {})
    assert "redis://:***@cache.internal:6379/0" in shown and "hunter2" not in shown


def test_local_url_opens_loopback_for_any_address():
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert local_url("::1", 9) == "http://[::1]:9"


def test_terminal_commands_drop_celery_art_and_json_access_lines(settings):
    commands = for_terminal(
        {
            "api": api_command("127.0.0.1", 8000, 2),
            "worker": worker_command("scoring", 1),
            "beat": beat_command(settings),
        }
    )
    assert commands["worker"][commands["worker"].index("celery") + 1] == "--quiet"
    assert commands["beat"][commands["beat"].index("celery") + 1] == "--quiet"
    api = commands["api"]
    assert "--access-logfile" not in api and "--access-logformat" not in api
    assert "service.wsgi:app" in api
    assert api[-2:] == ["--log-level", "warning"]
    # Beat at INFO says "sending due task" every few seconds: it runs at WARNING then.
    beat = beat_command(settings)
    assert beat[beat.index("--loglevel") + 1] == "WARNING"
    debug = beat_command(replace(settings, log_level="DEBUG"))
    assert debug[debug.index("--loglevel") + 1] == "DEBUG"


def test_ready_state_says_what_is_missing(settings, db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        # Bound, not listening: the API is not there yet.
        ready, missing = ready_state(settings, "127.0.0.1", port)
    assert not ready and missing == "the API, a worker"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        ready, missing = ready_state(settings, "127.0.0.1", s.getsockname()[1])
    assert not ready and missing == "a worker"
