"""Spam end to end on real parts: API -> PostgreSQL -> Redis -> Celery worker, and feedback."""

from __future__ import annotations

import redis

from civil.scoring import TOXICITY_LABELS
from tests.factories import comment_body

# The test toxicity checkpoint has random weights: keep its scores out of the decisions.
LENIENT = {
    "thresholds": dict.fromkeys(TOXICITY_LABELS, 1.0),
    "hold_thresholds": dict.fromkeys(TOXICITY_LABELS, 1.0),
}
ARTICLE = {
    "id": "a-lanes",
    "title": "Council approves protected bike lanes on Main Street",
    "text": "The council voted to build protected bike lanes along Main Street.",
}


def _spam_reason(decision):
    return next((r for r in decision["reasons"] if r["code"] in ("spam", "spam_discard")), None)


def test_feedback_changes_the_next_decision_for_the_spammer_domain(pg_redis_stack, redis_url):
    stack = pg_redis_stack
    stack.start_worker()
    site = stack.site(**LENIENT)
    first = comment_body(
        article=ARTICLE,
        content="Parking on Main Street was already hard, see the map at "
        "https://greenwheels-deals.example/map",
    )
    decided = stack.post(site, first, wait=10).json
    assert decided["status"] == "approved", decided
    assert decided["decision"]["scores"]["spam"] < 0.6
    r = stack.client.post(
        f"/v1/sites/{site.site_id}/comments/{first['id']}/feedback",
        json={"label": "spam"},
        headers={"Authorization": f"Bearer {site.api_key}"},
    )
    assert r.status_code == 200, r.json
    second = comment_body(
        article=ARTICLE,
        content="The junction by the station worries me, details at "
        "https://greenwheels-deals.example/j",
        author={"id": "u-other", "email": "other@example.net", "ip": "198.51.100.20"},
    )
    view = stack.post(site, second, wait=10).json
    assert view["status"] in ("held", "rejected"), view
    reason = _spam_reason(view["decision"])
    assert reason is not None and reason["score"] == view["decision"]["scores"]["spam"]
    signals = {s["signal"]: s for s in reason["signals"]}
    assert signals["spam_reputation"]["contribution"] > 0
    # Velocity counters live in Redis when the broker is Redis (shared by every worker).
    keys = redis.Redis.from_url(redis_url).keys(f"civil:spam:v:{site.site_id}:*")
    assert any(b":domain:greenwheels-deals.example" in k for k in keys)


def test_blatant_spam_reaches_the_discard_tier(pg_redis_stack):
    stack = pg_redis_stack
    stack.start_worker()
    site = stack.site(**LENIENT)
    body = comment_body(
        article=ARTICLE,
        content="WINNER!! Claim your free prize now, call 09061701461 or visit bit.ly/prize-now "
        "and cheap-pills[.]com",
        author={"id": "u-spam", "name": "Cheap Pills Online Store", "email": "x@mailinator.com"},
    )
    view = stack.post(site, body, wait=10).json
    assert view["status"] == "rejected", view
    reason = _spam_reason(view["decision"])
    assert reason["code"] == "spam_discard" and reason["discard"] is True
    families = {s["family"] for s in reason["signals"]}
    assert {"text", "links", "evasion", "author"} <= families


def test_two_labels_at_once_on_postgresql_leave_the_newest_counted_once(pg_url, tmp_path):
    import threading

    from sqlalchemy import select

    from civil.db import Database
    from civil.feedback import record_spam_label
    from civil.migrate import upgrade
    from civil.models import Comment, SpamReputation
    from civil.settings import Settings
    from civil.sites import create_site
    from tests.support.moderation import decided_comment

    settings = Settings.from_env({}, data_dir=tmp_path / "var", database_url=pg_url)
    upgrade(settings)
    db = Database(settings)
    try:
        with db.session() as s:
            site = create_site(s, name="PG", callback_url=None, allow_private=True)
        comment_id = decided_comment(
            db, site.site_id, content="Cheap tickets at https://race-deals.example today"
        )
        errors: list[BaseException] = []

        def second() -> None:
            try:
                with db.session() as s:
                    record_spam_label(s, s.get(Comment, comment_id), "ham", "site")
            except BaseException as exc:  # surfaced by the assertion below
                errors.append(exc)

        with db.session() as s:
            record_spam_label(s, s.get(Comment, comment_id), "spam", "moderator")
            s.flush()
            thread = threading.Thread(target=second)
            thread.start()
            thread.join(1.0)  # the second label waits for this transaction to end
        thread.join(10)
        assert not errors and not thread.is_alive()
        with db.session() as s:
            row = s.scalar(
                select(SpamReputation).where(SpamReputation.value == "race-deals.example")
            )
            assert (row.spam, row.ham) == (0, 1)
    finally:
        db.engine.dispose()


def test_labels_on_comments_sharing_domains_do_not_deadlock_on_postgresql(
    pg_url, tmp_path, monkeypatch
):
    import contextlib
    import threading

    from sqlalchemy import select

    from civil.db import Database
    from civil.feedback import record_spam_label
    from civil.migrate import upgrade
    from civil.models import Comment, SpamReputation
    from civil.settings import Settings
    from civil.sites import create_site
    from civil.spam import reputation
    from tests.support.moderation import decided_comment

    settings = Settings.from_env({}, data_dir=tmp_path / "var", database_url=pg_url)
    upgrade(settings)
    db = Database(settings)
    try:
        with db.session() as s:
            site = create_site(s, name="PG", callback_url=None, allow_private=True)
        texts = [
            "Deals at https://alpha-deals.example and https://beta-deals.example today",
            "Deals at https://beta-deals.example and https://alpha-deals.example today",
        ]
        ids = [decided_comment(db, site.site_id, content=t) for t in texts]
        seed = decided_comment(db, site.site_id, content=texts[0] + " again")
        with db.session() as s:  # the rows exist: each label takes them FOR UPDATE
            record_spam_label(s, s.get(Comment, seed), "spam", "site")
        # Both labels hold their first row before asking for their second one.
        both_hold_one = threading.Barrier(2, timeout=3)
        real_row = reputation._row
        local = threading.local()

        def row(session, site_id, kind, value):
            found = real_row(session, site_id, kind, value)
            if not getattr(local, "waited", False):
                local.waited = True
                # Broken when the other label waits for this one's row: the right order.
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_hold_one.wait()
            return found

        monkeypatch.setattr(reputation, "_row", row)
        errors: list[BaseException] = []

        def label(comment_id: int) -> None:
            try:
                with db.session() as s:
                    record_spam_label(s, s.get(Comment, comment_id), "spam", "site")
            except BaseException as exc:  # surfaced by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=label, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert not errors, errors
        with db.session() as s:
            counts = {r.value: r.spam for r in s.scalars(select(SpamReputation))}
        assert counts["alpha-deals.example"] == counts["beta-deals.example"] == 3
    finally:
        db.engine.dispose()
