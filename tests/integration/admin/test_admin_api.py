"""/v1/admin/…: every endpoint, its refusals, nothing half-stored, everything audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from civil.errors import Unauthorized
from civil.models import AuditEntry, Moderator, ModeratorSite, Site
from civil.moderation.accounts import attempt_login, by_id, by_token
from tests.integration.admin.conftest import ADMIN_TOKEN
from tests.support.moderation import moderator

PASSWORD = "long enough 1"


def _count(backend: Any, model: Any) -> int:
    with backend.db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _audit(backend: Any) -> list[tuple[str, str, str]]:
    with backend.db.session() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.site_id).order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows]


def _new_site(backend: Any, **body: Any) -> dict[str, Any]:
    r = backend.admin("POST", "/sites", json={"name": "Daily Planet", **body})
    assert r.status_code == 201, r.json
    return r.json


def test_sites_create_show_update_list_and_delete(backend) -> None:
    created = _new_site(
        backend,
        callback_url="http://127.0.0.1:9/hook",
        policy={"mode": "pre", "spam_threshold": 0.9},
        notify={"held_over": 5, "emails": ["desk@example.org"]},
    )
    site_id = created["site_id"]
    assert created["api_key"].startswith("civ_") and created["signing_secret"].startswith("whsec_")
    r = backend.client.get(
        f"/v1/sites/{site_id}/comments/nope",
        headers={"Authorization": f"Bearer {created['api_key']}"},
    )
    assert r.status_code == 404  # the key works on the site API
    shown = backend.admin("GET", f"/sites/{site_id}").json
    assert shown["policy"]["mode"] == "pre" and shown["policy"]["spam_threshold"] == 0.9
    assert shown["notify"] == {"held_over": 5, "emails": ["desk@example.org"]}
    assert "api_key" not in shown and not shown["coral"]
    r = backend.admin(
        "PATCH",
        f"/sites/{site_id}",
        json={"policy": {"max_links": 2}, "notify": {"window_minutes": 30}},
    )
    assert r.status_code == 200, r.json
    assert r.json["policy"]["mode"] == "pre" and r.json["policy"]["max_links"] == 2
    assert r.json["notify"] == {
        "held_over": 5,
        "emails": ["desk@example.org"],
        "window_minutes": 30,
    }
    listed = backend.admin("GET", "/sites").json["sites"]
    assert [s["site_id"] for s in listed] == [site_id]
    r = backend.admin("DELETE", f"/sites/{site_id}")
    assert r.status_code == 200 and r.json == {"deleted": site_id}
    assert backend.admin("GET", f"/sites/{site_id}").status_code == 404
    # A policy change is a policy version too: its own audit entry before the site's.
    assert [a[1] for a in _audit(backend)] == [
        "site.create",
        "policy_change",
        "site.update",
        "site.delete",
    ]
    assert {a[0] for a in _audit(backend)} == {"admin-token"}


def test_rotating_the_key_ends_the_old_one_and_the_secret_changes(backend) -> None:
    created = _new_site(backend)
    site_id, old_key = created["site_id"], created["api_key"]
    r = backend.admin("POST", f"/sites/{site_id}/rotate-key")
    assert r.status_code == 200 and r.json["api_key"] != old_key
    path = f"/v1/sites/{site_id}/comments/x"
    assert (
        backend.client.get(path, headers={"Authorization": f"Bearer {old_key}"}).status_code == 401
    )
    fresh = {"Authorization": f"Bearer {r.json['api_key']}"}
    assert backend.client.get(path, headers=fresh).status_code == 404
    r = backend.admin("POST", f"/sites/{site_id}/rotate-secret")
    assert r.status_code == 200 and r.json["signing_secret"] != created["signing_secret"]
    with backend.db.session() as session:
        assert session.get(Site, site_id).signing_secret == r.json["signing_secret"]
    audit = _audit(backend)
    assert [a[1] for a in audit][-2:] == ["site.rotate_key", "site.rotate_secret"]
    text = str(audit)
    assert old_key not in text and r.json["signing_secret"] not in text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x", "policy": {"mode": "sometimes"}}, "policy"),
        ({"name": "x", "notify": {"held_over": -1}}, "notify"),
        ({"name": "x", "colour": "blue"}, "colour"),
    ],
)
def test_bad_site_bodies_are_refused_and_nothing_is_stored(backend, body, field) -> None:
    r = backend.admin("POST", "/sites", json=body)
    assert r.status_code == 422 and r.json["error"] == "validation_failed", r.json
    assert field in str(r.json["details"])
    r = backend.admin("POST", "/sites", json={"name": "x", "policy": {"thresholds": {"rude": 0.5}}})
    assert r.status_code == 422
    r = backend.admin(
        "POST", "/sites", json={"name": "x", "notify": {"emails": ["not-an-address"]}}
    )
    assert r.status_code == 422
    r = backend.admin("POST", "/sites", data="name=x", content_type="text/plain")
    assert r.status_code == 415 and r.json["error"] == "unsupported_media_type"
    assert _count(backend, Site) == 0 and _count(backend, AuditEntry) == 0


def test_a_failing_update_changes_nothing(backend) -> None:
    site_id = _new_site(backend, callback_url="http://127.0.0.1:9/hook")["site_id"]
    r = backend.admin(
        "PATCH",
        f"/sites/{site_id}",
        json={"callback_url": "http://127.0.0.1:9/new", "notify": {"emails": ["bad address"]}},
    )
    assert r.status_code == 422, r.json
    shown = backend.admin("GET", f"/sites/{site_id}").json
    assert shown["callback_url"] == "http://127.0.0.1:9/hook" and shown["notify"] is None
    assert [a[1] for a in _audit(backend)] == ["site.create"]
    assert backend.admin("PATCH", "/sites/site_missing", json={}).status_code == 404


def test_wrong_tokens_are_401_and_the_wrong_kind_of_token_is_403(backend) -> None:
    site = _new_site(backend)
    _, plain_token = moderator(backend.db, "plain@example.org", [site["site_id"]])
    cases = [
        ("", 401, "unauthorized"),
        ("nope", 401, "unauthorized"),
        (ADMIN_TOKEN + "x", 401, "unauthorized"),
        ("civmod_" + "x" * 40, 401, "unauthorized"),
        (site["api_key"], 403, "not_admin"),  # a site's own key
        (plain_token, 403, "not_admin"),  # a moderator who is not an admin
    ]
    for token, status, code in cases:
        for method, path in (
            ("GET", "/sites"),
            ("DELETE", f"/sites/{site['site_id']}"),
            ("POST", "/moderators"),
        ):
            r = backend.admin(method, path, token=token, json={})
            assert (r.status_code, r.json["error"]) == (status, code), (token, path, r.json)
            assert set(r.json) == {"error", "message", "details"}
    assert backend.admin("GET", f"/sites/{site['site_id']}").status_code == 200


def test_an_admin_moderators_token_works_and_is_named_in_the_audit(backend) -> None:
    _, token = moderator(backend.db, "chief@example.org", [], admin=True)
    r = backend.admin("POST", "/sites", token=token, json={"name": "By chief"})
    assert r.status_code == 201
    assert _audit(backend)[-1][:2] == ("chief@example.org", "site.create")


def test_moderators_create_update_password_token_and_delete(backend) -> None:
    a, b = _new_site(backend)["site_id"], _new_site(backend)["site_id"]
    r = backend.admin(
        "POST",
        "/moderators",
        json={"email": "Ann@Example.org", "password": PASSWORD, "site_ids": [a]},
    )
    assert r.status_code == 201, r.json
    ann, token = r.json["id"], r.json["token"]
    assert r.json["email"] == "ann@example.org" and r.json["sites"] == [a]
    assert not r.json["disabled"] and PASSWORD not in r.get_data(as_text=True)
    with backend.db.session() as session:
        assert by_token(session, token).site_ids == frozenset({a})
    r = backend.admin("PATCH", f"/moderators/{ann}", json={"site_ids": [a, b]})
    assert r.status_code == 200 and r.json["sites"] == sorted([a, b])
    listed = backend.admin("GET", "/moderators").json["moderators"]
    assert [m["email"] for m in listed] == ["ann@example.org"] and "token" not in listed[0]
    r = backend.admin("POST", f"/moderators/{ann}/password", json={"password": "another one 22"})
    assert r.status_code == 200
    with pytest.raises(Unauthorized):
        attempt_login(backend.db, "ann@example.org", PASSWORD)
    assert attempt_login(backend.db, "ann@example.org", "another one 22").id == ann
    r = backend.admin("POST", f"/moderators/{ann}/rotate-token")
    assert r.status_code == 200 and r.json["token"] != token
    with backend.db.session() as session:
        with pytest.raises(Unauthorized):
            by_token(session, token)
        assert by_token(session, r.json["token"]).id == ann
    r = backend.admin("DELETE", f"/moderators/{ann}")
    assert r.status_code == 200 and backend.admin("GET", f"/moderators/{ann}").status_code == 404
    assert _count(backend, Moderator) == 0 and _count(backend, ModeratorSite) == 0
    actions = [x[1] for x in _audit(backend) if x[1].startswith("moderator.")]
    assert actions == [
        "moderator.create",
        "moderator.assign_sites",
        "moderator.reset_password",
        "moderator.rotate_token",
        "moderator.delete",
    ]
    assert "another one 22" not in str(_audit(backend))


def test_a_disabled_moderator_cannot_log_in_or_use_the_token_until_enabled(backend) -> None:
    site = _new_site(backend)["site_id"]
    ann, token = moderator(backend.db, "ann@example.org", [site], password=PASSWORD)
    r = backend.admin("PATCH", f"/moderators/{ann}", json={"disabled": True})
    assert r.status_code == 200 and r.json["disabled"] is True
    with pytest.raises(Unauthorized, match="disabled"):
        attempt_login(backend.db, "ann@example.org", PASSWORD)
    with backend.db.session() as session:
        assert by_id(session, ann) is None  # a session cookie stops working
    r = backend.client.get("/v1/queue", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json["error"] == "account_disabled"
    r = backend.admin("PATCH", f"/moderators/{ann}", json={"disabled": False})
    assert r.status_code == 200 and r.json["disabled"] is False
    assert (
        backend.client.get("/v1/queue", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    assert attempt_login(backend.db, "ann@example.org", PASSWORD).id == ann


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"email": "no-at-sign", "password": PASSWORD, "site_ids": ["s"]},
            422,
            "validation_failed",
        ),
        (
            {"email": "a@example.org", "password": "short", "site_ids": ["s"]},
            422,
            "validation_failed",
        ),
        (
            {"email": "a@example.org", "password": PASSWORD, "site_ids": []},
            422,
            "validation_failed",
        ),
        (
            {"email": "a@example.org", "password": PASSWORD, "site_ids": ["site_missing"]},
            404,
            "not_found",
        ),
        (
            {"email": "a@example.org", "password": PASSWORD, "admin": "yes"},
            422,
            "validation_failed",
        ),
    ],
)
def test_bad_moderator_bodies_are_refused_and_nothing_is_stored(
    backend, body, status, code
) -> None:
    if body.get("site_ids") == ["s"]:
        body = {**body, "site_ids": [_new_site(backend)["site_id"]]}
    r = backend.admin("POST", "/moderators", json=body)
    assert (r.status_code, r.json["error"]) == (status, code), r.json
    assert _count(backend, Moderator) == 0
    assert [a for a in _audit(backend) if a[1].startswith("moderator.")] == []


def test_a_taken_email_and_a_bad_update_change_nothing(backend) -> None:
    site = _new_site(backend)["site_id"]
    ann, _ = moderator(backend.db, "ann@example.org", [site])
    r = backend.admin(
        "POST",
        "/moderators",
        json={"email": "ANN@example.org", "password": PASSWORD, "site_ids": [site]},
    )
    assert r.status_code == 409 and r.json["error"] == "conflict"
    r = backend.admin(
        "PATCH", f"/moderators/{ann}", json={"site_ids": [site, "site_missing"], "disabled": True}
    )
    assert r.status_code == 404
    shown = backend.admin("GET", f"/moderators/{ann}").json
    assert shown["sites"] == [site] and shown["disabled"] is False
    r = backend.admin("POST", f"/moderators/{ann}/password", json={"password": "short"})
    assert r.status_code == 422
    assert backend.admin("POST", "/moderators/999999/rotate-token").status_code == 404
    assert _count(backend, Moderator) == 1
    assert [a[1] for a in _audit(backend) if a[1].startswith("moderator.")] == []
