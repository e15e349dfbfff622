"""`civil run` as deployed: do_not_store with ?wait=, retention from the beat schedule with its
counts in /metrics (summed from the worker), and `civil sites export` as JSON Lines."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import timedelta

import requests
from sqlalchemy import select, update

from civil.db import Database
from civil.models import Author, Comment, DailyStat, Event, utcnow
from civil.settings import Settings
from tests.factories import comment_body
from tests.support.civil_run import CIVIL, CivilRun, civil, wait_http


def _metric(base: str, line: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    metrics = ""
    while time.monotonic() < deadline:
        metrics = requests.get(base + "/metrics", timeout=5).text
        if line in metrics:
            return metrics
        time.sleep(0.5)
    raise AssertionError(f"{line!r} never appeared in /metrics:\n{metrics[-3000:]}")


def test_do_not_store_retention_and_export_under_civil_run(tmp_path, tiny_checkpoint):
    run = CivilRun(
        tmp_path,
        CIVIL_TOXICITY_MODEL=str(tiny_checkpoint),
        CIVIL_RETENTION_INTERVAL_SECONDS="2",
    )
    env, base = run.env, run.base
    with run:
        wait_http(base + "/readyz", 200)
        policy = json.dumps({"retention_days": 7})
        site = civil(env, "sites", "create", "--name", "Planet", "--policy", policy)
        auth = {"Authorization": f"Bearer {site['api_key']}"}
        url = f"{base}/v1/sites/{site['site_id']}/comments"
        private = comment_body(
            do_not_store=True,
            author={
                "id": "u-priv",
                "name": "Pat Private",
                "email": "pat@example.org",
                "ip": "203.0.113.200",
            },
            content="Please do not keep this sentence about my neighbour.",
        )
        r = requests.post(url + "?wait=10", json=private, headers=auth, timeout=15)
        assert r.status_code == 200, r.text
        decision = r.json()["decision"]
        assert r.json()["status"] in {"approved", "held", "rejected"}
        old = comment_body(content="An old comment the site keeps for a week only.")
        assert (
            requests.post(url + "?wait=10", json=old, headers=auth, timeout=15).status_code == 200
        )
        settings = Settings.from_env(env)
        db = Database(settings)
        try:
            with db.session() as session:
                kept = session.scalar(select(Comment).where(Comment.external_id == private["id"]))
                assert kept.content == "" and kept.ip is None and kept.user_agent is None
                assert kept.decision == decision  # only the decision remains
                author = session.get(Author, kept.author_id)
                assert (author.name, author.email, author.url) == (None, None, None)
                # The old comment was decided ten days ago (as far as retention can tell).
                session.execute(
                    update(Comment)
                    .where(Comment.external_id == old["id"])
                    .values(decided_at=utcnow() - timedelta(days=10))
                )
            metrics = _metric(base, 'civil_retention_deleted_total{kind="comments"} 1.0')
            assert 'civil_retention_deleted_total{kind="events"}' in metrics
            with db.session() as session:
                ids = set(session.scalars(select(Comment.external_id)))
                assert ids == {private["id"]}
                assert session.scalar(select(Event.id).where(Event.comment_id.is_(None))) is None
                stats = list(session.scalars(select(DailyStat)))
                assert [(s.site_id, s.count) for s in stats] == [(site["site_id"], 1)]
        finally:
            db.engine.dispose()
        # A site's export: its comments with decisions, then the surviving statistics.
        out = subprocess.run(
            [CIVIL, "sites", "export", site["site_id"]],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        lines = [json.loads(x) for x in out.splitlines()]
        comments = [x for x in lines if x["type"] == "comment"]
        assert [(c["id"], c["content"], c["decision"]) for c in comments] == [
            (private["id"], "", decision)
        ]
        assert [x["count"] for x in lines if x["type"] == "stat"] == [1]
        missing = subprocess.run(
            [CIVIL, "sites", "export", "site_nope"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert missing.returncode != 0 and "no such site" in missing.stderr + missing.stdout
    assert run.code == 0, run.log()[-4000:]
