"""The policy API: read, change (a version), history, shadow report and promotion, calibration."""

from __future__ import annotations

from sqlalchemy import func, select

from civil.models import PolicyVersion, Site
from civil.tuning import shadow


def test_a_change_is_a_version_in_the_history(client, site, auth, db) -> None:
    url = f"/v1/sites/{site.site_id}/policy"
    assert client.get(url, headers=auth).json["policy_version"] == 1
    r = client.patch(
        url,
        headers=auth,
        json={
            "changes": {"sections": {"politics": {"hold_thresholds": {"toxicity": 0.4}}}},
            "why": "tighter politics",
        },
    )
    assert r.status_code == 200, r.json
    assert r.json["policy_version"] == 2
    assert r.json["policy"]["sections"]["politics"]["hold_thresholds"] == {"toxicity": 0.4}
    history = client.get(f"{url}/versions", headers=auth).json
    assert [v["version"] for v in history["versions"]] == [2, 1]
    latest = history["versions"][0]
    assert (latest["actor"], latest["source"], latest["why"]) == (
        f"site:{site.site_id}",
        "api",
        "tighter politics",
    )
    assert latest["diff"] == {
        "sections.politics": {"from": None, "to": {"hold_thresholds": {"toxicity": 0.4}}}
    }


def test_bad_changes_use_the_one_error_shape_and_store_nothing(client, site, auth, db) -> None:
    url = f"/v1/sites/{site.site_id}/policy"
    cases = [
        (client.patch(url, headers=auth, json={"changes": {"mode": "sometimes"}}), 422),
        (client.patch(url, headers=auth, json={"changes": {"thresholds": {"rude": 0.5}}}), 422),
        (client.patch(url, headers=auth, json={"nope": 1}), 422),
        (client.patch(url, headers={}, json={"changes": {}}), 401),
        (client.get(f"/v1/sites/{site.site_id}/calibration?target=4", headers=auth), 422),
        (client.get(f"/v1/sites/{site.site_id}/shadow/report?since=yesterday", headers=auth), 422),
        (client.post(f"/v1/sites/{site.site_id}/shadow/promote", headers=auth), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.json)
        assert set(response.json) == {"error", "message", "details"}
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PolicyVersion)) == 1


def test_shadow_report_promote_and_calibration_answer_their_schemas(client, site, auth, db) -> None:
    with db.session() as s:
        shadow.attach_candidate(
            s, s.get(Site, site.site_id), policy_changes={"mode": "pre"}, model=None, actor="ed"
        )
    report = client.get(f"/v1/sites/{site.site_id}/shadow/report?since=1h", headers=auth)
    assert report.status_code == 200 and report.json["decisions"] == 0
    calibrated = client.get(f"/v1/sites/{site.site_id}/calibration", headers=auth)
    assert calibrated.json["labels"]["toxicity"]["status"] == "insufficient_labels"
    promoted = client.post(f"/v1/sites/{site.site_id}/shadow/promote", headers=auth)
    assert promoted.status_code == 200 and promoted.json["diff"] == {
        "mode": {"from": "post", "to": "pre"}
    }
    assert client.get(f"/v1/sites/{site.site_id}/policy", headers=auth).json["candidate"] is None
