"""The workspace pages through the Flask test client: login, CSRF, lock-out, queue, actions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from civil.models import AuditEntry, Comment
from civil.moderation import accounts as moderators
from civil.moderation.actions import act
from civil.sites import create_site, delete_site
from tests.support.moderation import decided_comment, moderator

PASSWORD = "correct horse 1"


@pytest.fixture
def web(app):
    # Session cookies are Secure: the client talks HTTPS like a real deployment.
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def log_in(web, email: str, password: str = PASSWORD):
    token = csrf_of(web.get("/moderate/login").get_data(as_text=True))
    return web.post(
        "/moderate/login",
        data={"email": email, "password": password, "csrf_token": token},
    )


def test_queue_redirects_to_login(web):
    r = web.get("/moderate")
    assert r.status_code == 302 and "/moderate/login" in r.headers["Location"]


def test_login_sets_a_secure_http_only_cookie(web, db, site):
    moderator(db, "m@example.org", [site.site_id])
    r = log_in(web, "m@example.org")
    assert r.status_code == 303
    cookie = r.headers["Set-Cookie"]
    assert "civil_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert web.get("/moderate").status_code == 200


def test_login_without_csrf_token_is_refused(web, db, site):
    moderator(db, "m@example.org", [site.site_id])
    web.get("/moderate/login")
    r = web.post("/moderate/login", data={"email": "m@example.org", "password": PASSWORD})
    assert r.status_code == 400 and b"csrf_failed" in r.data
    assert web.get("/moderate").status_code == 302


def test_action_without_csrf_token_changes_nothing(web, db, site):
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    r = web.post(f"/moderate/comments/{comment_id}/action", data={"action": "approve"})
    assert r.status_code == 400
    with db.session() as session:
        assert session.get(Comment, comment_id).status == "held"


def test_failed_logins_lock_the_account(web, db, site):
    moderator(db, "m@example.org", [site.site_id])
    for _ in range(5):
        assert log_in(web, "m@example.org", "wrong password").status_code == 401
    r = log_in(web, "m@example.org")
    assert r.status_code == 401 and b"too many failed logins" in r.data


def test_login_is_rate_limited_per_address(web, db, site):
    codes = [log_in(web, f"nobody{i}@example.org").status_code for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_queue_shows_items_and_a_form_action_is_audited(web, db, site):
    comment_id = decided_comment(
        db, site.site_id, toxicity=0.7, spans=[[0, 6]], content="Idiots, the lot of you"
    )
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    page = web.get("/moderate").get_data(as_text=True)
    assert "<mark" in page and "Idiots</mark>" in page
    assert "Council approves new bike lanes" in page
    r = web.post(
        f"/moderate/comments/{comment_id}/action",
        data={
            "action": "reject",
            "reason": "offensive",
            "note": "name-calling",
            "csrf_token": csrf_of(page),
            "next": "https://evil.example/",
        },
    )
    assert r.status_code == 303 and r.headers["Location"] == "/moderate"
    with db.session() as session:
        assert session.get(Comment, comment_id).status == "rejected"
        [entry] = session.scalars(select(AuditEntry))
        assert (entry.actor, entry.reason, entry.note) == (
            "m@example.org",
            "offensive",
            "name-calling",
        )


def test_json_action_returns_the_updated_card(web, db, site):
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    token = csrf_of(web.get("/moderate").get_data(as_text=True))
    r = web.post(
        f"/moderate/comments/{comment_id}/action",
        data={"action": "approve"},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert r.status_code == 200 and r.json["status"] == "approved"
    assert f'id="item-{comment_id}"' in r.json["html"] and "Approved" in r.json["html"]


def test_moderator_cannot_open_another_sites_comment(web, db, site):
    with db.session() as session:
        other = create_site(session, name="Other", callback_url=None, allow_private=True)
    theirs = decided_comment(db, other.site_id, toxicity=0.7, content="secret text")
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    assert web.get(f"/moderate/comments/{theirs}").status_code == 404
    assert b"secret text" not in web.get("/moderate").data


def test_ops_is_for_admins(web, db, site):
    moderator(db, "m@example.org", [site.site_id])
    moderator(db, "root@example.org", [], admin=True)
    log_in(web, "m@example.org")
    assert web.get("/moderate/ops").status_code == 403
    web.post(
        "/moderate/logout",
        data={"csrf_token": csrf_of(web.get("/moderate").get_data(as_text=True))},
    )
    log_in(web, "root@example.org")
    page = web.get("/moderate/ops")
    assert page.status_code == 200 and b"Dead-lettered deliveries" in page.data


def test_bulk_preview_changes_nothing(web, db, site):
    ids = [decided_comment(db, site.site_id, toxicity=0.7) for _ in range(2)]
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    token = csrf_of(web.get("/moderate").get_data(as_text=True))
    r = web.post("/moderate/bulk", data={"view": "held", "action": "approve", "csrf_token": token})
    assert r.status_code == 200 and b'data-matched="2"' in r.data
    with db.session() as session:
        assert {session.get(Comment, i).status for i in ids} == {"held"}
    r = web.post(
        "/moderate/bulk/apply",
        data={"view": "held", "action": "approve", "expected": "2", "csrf_token": token},
    )
    assert b'data-applied="2"' in r.data


def test_admin_replays_a_dead_letter_from_the_ops_page(web, db, site):
    from civil.delivery.events import build_events
    from civil.models import Event

    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    with db.session() as session:
        [event] = build_events(session, session.get(Comment, comment_id))
        event.status = "dead"
        event_id = event.id
    moderator(db, "root@example.org", [], admin=True)
    log_in(web, "root@example.org")
    page = web.get("/moderate/ops").get_data(as_text=True)
    assert event_id in page and "Replay" in page
    r = web.post(f"/moderate/ops/deliveries/{event_id}/replay", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    with db.session() as session:
        assert session.get(Event, event_id).status == "pending"


def test_audit_page_and_item_trail_show_the_action(web, db, site):
    comment_id = decided_comment(db, site.site_id, toxicity=0.7, id="audited")
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    token = csrf_of(web.get("/moderate").get_data(as_text=True))
    web.post(
        f"/moderate/comments/{comment_id}/action",
        data={"action": "ban", "reason": "abusive", "note": "threats", "csrf_token": token},
    )
    audit = web.get("/moderate/audit").get_data(as_text=True)
    assert "audited" in audit and "ban" in audit and "threats" in audit
    trail = web.get(f"/moderate/comments/{comment_id}").get_data(as_text=True)
    assert "held → rejected" in trail and "author none → banned" in trail


def test_secret_key_is_created_once_and_private(settings):
    from service.moderate import secret_key

    first = secret_key(settings)
    assert first == secret_key(settings) and len(first) > 40
    assert (settings.data_dir / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "target",
    [
        "/moderate/../..//evil.example",
        "/moderate/%2e%2e/%2E%2E//evil.example",
        "/moderate\\@evil.example",
        "/moderate.evil.example",
        "/moderate?x=\r\nSet-Cookie: a=b",
    ],
)
def test_login_next_never_leaves_the_workspace(web, db, site, target):
    # Dot segments resolve "/moderate/../..//host" to "//host" in the browser; backslashes
    # and control characters are read differently by browsers and servers: all go home.
    moderator(db, "m@example.org", [site.site_id])
    token = csrf_of(web.get("/moderate/login").get_data(as_text=True))
    r = web.post(
        "/moderate/login",
        data={"email": "m@example.org", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert r.status_code == 303 and r.headers["Location"] == "/moderate"
    good = log_in_to(web, "/moderate/comments/1?x=1")
    assert good.headers["Location"] == "/moderate/comments/1?x=1"


def log_in_to(web, target: str):
    web.post(
        "/moderate/logout",
        data={"csrf_token": csrf_of(web.get("/moderate").get_data(as_text=True))},
    )
    token = csrf_of(web.get("/moderate/login").get_data(as_text=True))
    return web.post(
        "/moderate/login",
        data={"email": "m@example.org", "password": PASSWORD, "csrf_token": token, "next": target},
    )


def test_item_trail_never_shows_a_deleted_sites_audit_rows(web, db, site):
    # The audit log keeps plain comment ids and outlives deleted sites; SQLite hands a deleted
    # highest rowid out again, so a new comment elsewhere can carry an old trail's comment id.
    with db.session() as session:
        other = create_site(session, name="Other", callback_url=None, allow_private=True)
    theirs = decided_comment(db, other.site_id, toxicity=0.7)
    with db.session() as session:
        act(
            session,
            moderators.by_id(session, moderator(db, "a@example.org", [], True)[0]),
            theirs,
            "reject",
            "abusive",
            "their private note",
        )
    with db.session() as session:
        delete_site(session, other.site_id)
    mine = decided_comment(db, site.site_id, toxicity=0.7)
    assert mine == theirs  # the reuse this guards against
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    page = web.get(f"/moderate/comments/{mine}").get_data(as_text=True)
    assert "their private note" not in page and "a@example.org" not in page


def test_logout_ends_every_copy_of_the_session_cookie(app, web, db, site):
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    assert web.get("/moderate").status_code == 200
    # Someone copies the cookie (a stolen session) into another browser.
    thief = app.test_client()
    thief.environ_base["wsgi.url_scheme"] = "https"
    cookie = web.get_cookie("civil_session")
    assert cookie is not None
    thief.set_cookie("civil_session", cookie.value)
    assert thief.get("/moderate").status_code == 200
    web.post(
        "/moderate/logout",
        data={"csrf_token": csrf_of(web.get("/moderate").get_data(as_text=True))},
    )
    stolen = thief.get("/moderate")
    assert stolen.status_code == 302 and "/moderate/login" in stolen.headers["Location"]
    # Logging in again works and starts a new, valid session.
    log_in(web, "m@example.org")
    assert web.get("/moderate").status_code == 200
