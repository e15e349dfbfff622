"""Rate limits: a site's quota is spent only by its own key; key-less callers per address."""

from __future__ import annotations

from dataclasses import replace

from service import create_app
from tests.factories import comment_body

ANOTHER_ADDRESS = {"REMOTE_ADDR": "198.51.100.7"}


def _client(settings, **limits):
    return create_app(replace(settings, **limits)).test_client()


def test_keyless_posts_do_not_spend_the_sites_quota(settings, db, site, auth):
    client = _client(settings, intake_rate_limit="5/minute")
    url = f"/v1/sites/{site.site_id}/comments"
    strangers = [
        client.post(url, json=comment_body(), environ_base=ANOTHER_ADDRESS) for _ in range(5)
    ]
    wrong = client.post(url, json=comment_body(), headers={"Authorization": "Bearer civ_nope"})
    assert [r.status_code for r in strangers] + [wrong.status_code] == [401] * 6
    assert client.post(url, json=comment_body(), headers=auth).status_code == 202


def test_failed_auth_is_limited_per_address_apart_from_the_site(settings, db, site, auth):
    client = _client(settings, unauthenticated_rate_limit="3/minute")
    url = f"/v1/sites/{site.site_id}/comments"
    bad = {"Authorization": "Bearer civ_guess"}
    assert [client.post(url, json=comment_body(), headers=bad).status_code for _ in range(3)] == [
        401
    ] * 3
    over = client.post(url, json=comment_body(), headers=bad)
    assert over.status_code == 429 and over.json["error"] == "rate_limited"
    # Another address still reaches the key check; the site's own key is not limited.
    elsewhere = client.post(url, json=comment_body(), headers=bad, environ_base=ANOTHER_ADDRESS)
    assert elsewhere.status_code == 401
    assert client.post(url, json=comment_body(), headers=auth).status_code == 202


def test_compat_invalid_keys_are_limited_per_address(settings, db, site):
    client = _client(settings, unauthenticated_rate_limit="3/minute")
    calls = {
        "perspective": lambda n: client.post(
            f"/v1alpha1/comments:analyze?key=civ_guess{n}",
            json={"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}},
        ),
        "akismet": lambda n: client.post(
            "/1.1/verify-key", data={"key": f"civ_guess{n}", "blog": "https://x.example"}
        ),
        "openai": lambda n: client.post(
            "/v1/moderations", json={"input": "hi"}, headers={"Authorization": f"Bearer g{n}"}
        ),
    }
    for name, call in calls.items():
        # A new wrong key each time: counting per key would never stop a guesser.
        statuses = [call(n).status_code for n in range(4)]
        assert statuses[3] == 429 and 429 not in statuses[:3], (name, statuses)
    ok = client.post(
        "/v1/moderations", json={"input": "hi"}, headers={"Authorization": f"Bearer {site.api_key}"}
    )
    assert ok.status_code == 200
