"""The workspace's policy pages: overrides with inherited settings, a change, access, ops surges."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from civil.models import Article, PolicyVersion, Site, utcnow
from civil.sites import create_site
from tests.support.moderation import decided_comment, moderator
from tests.unit.service.test_moderate import csrf_of, log_in, web  # noqa: F401 - fixture


def test_policy_page_marks_inherited_settings_and_changes_make_versions(web, db, site):  # noqa: F811
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    page = web.get(f"/moderate/sites/{site.site_id}/policy").get_data(as_text=True)
    assert "every article inherits the site" in page
    r = web.post(
        f"/moderate/sites/{site.site_id}/policy",
        data={
            "changes": '{"sections": {"politics": {"hold_thresholds": {"toxicity": 0.4}}}}',
            "why": "election week",
            "csrf_token": csrf_of(page),
        },
    )
    assert r.status_code == 303
    page = web.get(f"/moderate/sites/{site.site_id}/policy").get_data(as_text=True)
    assert "Policy version 2 is live" in page
    row = page.split("Section “politics”")[1]
    assert "hold_thresholds.toxicity</td><td><code>0.4</code></td><td>section:politics" in row
    assert re.search(r"<td>mode</td><td><code>[^<]*post[^<]*</code></td><td>inherited", row)
    with db.session() as session:
        version = session.scalar(select(PolicyVersion).where(PolicyVersion.version == 2))
        assert (version.actor, version.source, version.why) == (
            "m@example.org",
            "workspace",
            "election week",
        )
    bad = web.post(
        f"/moderate/sites/{site.site_id}/policy",
        data={"changes": "{not json", "csrf_token": csrf_of(page)},
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 422 and bad.json["error"] == "validation_failed"


def test_another_sites_policy_pages_are_not_found(web, db, site):  # noqa: F811
    with db.session() as session:
        other = create_site(session, name="Other", callback_url=None)
    moderator(db, "m@example.org", [site.site_id])
    log_in(web, "m@example.org")
    for page in ("policy", "calibration", "shadow"):
        assert web.get(f"/moderate/sites/{other.site_id}/{page}").status_code == 404
    calibration = web.get(f"/moderate/sites/{site.site_id}/calibration")
    assert calibration.status_code == 200
    # The default policy: toxicity holds at 0.6 and has no reject threshold; threats reject.
    page = calibration.get_data(as_text=True)
    assert "Today: hold at 0.6, reject at no score (held only)." in page
    assert "Today: hold at 0.4, reject at 0.8." in page
    assert "no shadow candidate" in web.get(f"/moderate/sites/{site.site_id}/shadow").get_data(
        as_text=True
    )


def test_ops_lists_surging_articles(web, db, site):  # noqa: F811
    decided_comment(db, site.site_id)
    with db.session() as session:
        article = session.scalar(select(Article))
        article.surge_until = utcnow() + timedelta(minutes=30)
        assert session.get(Site, site.site_id) is not None
    moderator(db, "admin@example.org", [], admin=True)
    log_in(web, "admin@example.org")
    page = web.get("/moderate/ops").get_data(as_text=True)
    assert 'class="surge"' in page and "Council approves new bike lanes" in page
