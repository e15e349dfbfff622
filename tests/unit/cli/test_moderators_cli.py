"""`civil moderators create|list`."""

import json

import pytest
from click.testing import CliRunner

from civil.errors import Unauthorized
from civil.moderation.accounts import attempt_login, by_token
from cli import civil


@pytest.fixture
def run(settings, db, monkeypatch):
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(civil, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def test_create_then_log_in_and_use_the_token(run, db, site):
    out = run(
        "moderators",
        "create",
        "--email",
        "Ann@Example.org",
        "--password",
        "long enough 1",
        "--site",
        site.site_id,
    ).output
    created = json.loads(out)
    assert created["email"] == "ann@example.org" and created["token"].startswith("civmod_")
    who = attempt_login(db, "ann@example.org", "long enough 1")
    assert who.site_ids == frozenset({site.site_id}) and not who.is_admin
    with db.session() as session:
        assert by_token(session, created["token"]).id == who.id
    listed = json.loads(run("moderators", "list").output)
    assert listed[0]["sites"] == [site.site_id] and "token" not in listed[0]
    assert "long enough" not in json.dumps(listed)


def test_refusals_exit_with_the_error_shape(run, site):
    short = run(
        "moderators",
        "create",
        "--email",
        "a@x.org",
        "--password",
        "short",
        "--site",
        site.site_id,
        ok=False,
    )
    assert short.exit_code == 2 and json.loads(short.output)["error"] == "validation_failed"
    nosite = run(
        "moderators",
        "create",
        "--email",
        "a@x.org",
        "--password",
        "long enough 1",
        "--site",
        "site_nope",
        ok=False,
    )
    assert json.loads(nosite.output)["error"] == "not_found"
    run("moderators", "create", "--email", "root@x.org", "--password", "long enough 1", "--admin")
    again = run(
        "moderators",
        "create",
        "--email",
        "root@x.org",
        "--password",
        "long enough 1",
        "--admin",
        ok=False,
    )
    assert json.loads(again.output)["error"] == "conflict"


def test_rotate_token_replaces_the_old_one(run, db, site):
    created = json.loads(
        run(
            "moderators",
            "create",
            "--email",
            "r@x.org",
            "--password",
            "long enough 1",
            "--site",
            site.site_id,
        ).output
    )
    rotated = json.loads(run("moderators", "rotate-token", "--email", "R@x.org").output)
    with db.session() as session:
        assert by_token(session, rotated["token"]).email == "r@x.org"
        with pytest.raises(Unauthorized):
            by_token(session, created["token"])
    missing = run("moderators", "rotate-token", "--email", "nobody@x.org", ok=False)
    assert json.loads(missing.output)["error"] == "not_found"
