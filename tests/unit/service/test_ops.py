def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_is_503_without_a_live_worker(client):
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json["error"] == "not_ready"
    assert r.json["details"]["database"]["ok"] and r.json["details"]["broker"]["ok"]
    assert not r.json["details"]["workers"]["ok"]


def test_readyz_is_200_with_a_live_worker_that_loaded_its_model(client, db):
    from workers import heartbeat

    heartbeat.beat(db, "civil@test", "scoring", {"toxicity": {"loaded": True, "name": "x"}})
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json["status"] == "ready"
    # No scheduler yet: reported, but intake does not depend on it.
    assert r.json["checks"]["scheduler"] == {"ok": False, "live": 0, "required": False}
    heartbeat.beat(db, "scheduler@test", "")
    r = client.get("/readyz")
    assert r.json["checks"]["scheduler"]["ok"] and r.json["checks"]["workers"]["live"] == 1


def test_metrics_exposes_intake_and_deployment_gauges(client, site, auth):
    from tests.factories import comment_body

    client.post(f"/v1/sites/{site.site_id}/comments", json=comment_body(), headers=auth)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'civil_intake_total{outcome="created"}' in text
    assert 'civil_queue_depth{queue="scoring"} 1.0' in text
    assert 'civil_comments{status="pending"} 1.0' in text
    assert "civil_dead_letters 0.0" in text


def test_openapi_documents_the_contract_paths(client):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/v1/sites/{site_id}/comments" in spec["paths"]
    assert "/v1/sites/{site_id}/comments/{comment_id}" in spec["paths"]
    props = spec["components"]["schemas"]["CommentIn"]["properties"]
    assert {
        "id",
        "article",
        "parent_id",
        "author",
        "content",
        "content_type",
        "inline_quote",
        "created_at",
        "honeypot",
        "language",
    } <= set(props)
