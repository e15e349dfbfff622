"""The CLI's account and site changes go through the audited admin functions."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from civil.errors import Unauthorized
from civil.models import AuditEntry, Moderator, Site
from civil.moderation.accounts import attempt_login, by_token
from cli import civil
from tests.support.coral import new_signing_secret

PASSWORD = "long enough 1"


@pytest.fixture
def run(settings, db, monkeypatch):
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()

    def invoke(*args, ok=True, input=None):
        result = runner.invoke(civil, list(args), catch_exceptions=False, input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def _audit(db):
    with db.session() as session:
        return session.execute(
            select(AuditEntry.actor, AuditEntry.action).order_by(AuditEntry.id)
        ).all()


def test_disable_assign_reset_and_delete_a_moderator(run, db, site):
    with db.session() as session:
        other = Site(
            id="site_other",
            name="Other",
            api_key_prefix="x",
            api_key_hash="x",
            signing_secret="whsec_x",
            policy={},
        )
        session.add(other)
    created = json.loads(
        run(
            "moderators",
            "create",
            "--email",
            "ann@x.org",
            "--password",
            PASSWORD,
            "--site",
            site.site_id,
        ).output
    )
    disabled = json.loads(run("moderators", "disable", "--email", "ann@x.org").output)
    assert disabled["disabled"] is True
    with pytest.raises(Unauthorized, match="disabled"):
        attempt_login(db, "ann@x.org", PASSWORD)
    with db.session() as session, pytest.raises(Unauthorized, match="disabled"):
        by_token(session, created["token"])
    assert (
        json.loads(run("moderators", "enable", "--email", "ann@x.org").output)["disabled"] is False
    )
    assigned = json.loads(
        run("moderators", "assign", "--email", "ann@x.org", "--site", "site_other").output
    )
    assert assigned["sites"] == ["site_other"]
    run(
        "moderators",
        "reset-password",
        "--email",
        "ann@x.org",
        input="new password 22\nnew password 22\n",
    )
    assert attempt_login(db, "ann@x.org", "new password 22").site_ids == frozenset({"site_other"})
    run("moderators", "delete", "--email", "ann@x.org", "--yes")
    with db.session() as session:
        assert session.scalar(select(Moderator)) is None
    actions = [a for _, a in _audit(db)]
    assert actions == [
        "moderator.create",
        "moderator.disable",
        "moderator.enable",
        "moderator.assign_sites",
        "moderator.reset_password",
        "moderator.delete",
    ]
    assert all(actor.startswith("cli") for actor, _ in _audit(db))
    missing = run("moderators", "disable", "--email", "nobody@x.org", ok=False)
    assert missing.exit_code == 2 and json.loads(missing.output)["error"] == "not_found"


def test_site_commands_are_audited_and_coral_secret_is_set(run, db):
    created = json.loads(
        run("sites", "create", "--name", "CLI", "--notify", '{"held_over": 3}').output
    )
    site_id = created["site_id"]
    run("sites", "update", site_id, "--notify", '{"window_minutes": 5}')
    run("sites", "rotate-key", site_id)
    secret = new_signing_secret()
    out = json.loads(
        run(
            "sites",
            "coral-secret",
            site_id,
            "--secret",
            secret,
            "--grace",
            "60",
            "--timeout-ms",
            "800",
        ).output
    )
    assert out["timeout_ms"] == 800 and len(out["secrets"]) == 1 and secret not in json.dumps(out)
    with db.session() as session:
        site = session.get(Site, site_id)
        assert site.notify == {"held_over": 3, "window_minutes": 5}
        assert site.coral["secrets"][0]["secret"] == secret
    bad = run("sites", "update", site_id, "--notify", '{"held_over": -4}', ok=False)
    assert bad.exit_code == 2 and json.loads(bad.output)["error"] == "validation_failed"
    assert [a for _, a in _audit(db)] == [
        "site.create",
        "site.update",
        "site.rotate_key",
        "site.coral_secret",
    ]
