"""Admin changes in the workspace: the audit page lists them; disabling ends a live session."""

from __future__ import annotations

from civil import admin
from tests.support.moderation import moderator
from tests.unit.service.test_moderate import log_in


def _web(app):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def test_the_audit_page_lists_admin_changes(app, db, site):
    moderator(db, "chief@example.org", [], admin=True)
    mod_id, _ = moderator(db, "ann@example.org", [site.site_id])
    with db.session() as session:
        admin.rotate_key(session, "cli:ops", site.site_id)
        admin.set_disabled(session, "cli:ops", mod_id, True)
    web = _web(app)
    assert log_in(web, "chief@example.org").status_code == 303
    page = web.get("/moderate/audit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "site.rotate_key" in text and "moderator.disable" in text and "cli:ops" in text


def test_disabling_a_moderator_ends_their_open_session(app, db, site):
    mod_id, _ = moderator(db, "ann@example.org", [site.site_id])
    web = _web(app)
    assert log_in(web, "ann@example.org").status_code == 303
    assert web.get("/moderate").status_code == 200
    with db.session() as session:
        admin.set_disabled(session, "admin-token", mod_id, True)
    r = web.get("/moderate")
    assert r.status_code == 302 and "/moderate/login" in r.headers["Location"]
    r = log_in(web, "ann@example.org")
    assert r.status_code == 401 and b"disabled" in r.data
