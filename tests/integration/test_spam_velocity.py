"""Velocity counters in a real Redis: shared, windowed, and idempotent per comment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from civil.spam.velocity import Subject, db_velocity, measure, redis_velocity


def _subject(comment_id, at, author=7, ip="192.0.2.1", domains=("spam.example",)):
    return Subject("site_a", comment_id, author, ip, domains, at)


def test_counts_others_in_the_window_once_each(redis_url):
    t0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    for n in range(1, 5):
        redis_velocity(redis_url, _subject(n, t0 + timedelta(minutes=n)))
    # A redelivered task scores comment 4 again: still four comments, three others.
    again = redis_velocity(redis_url, _subject(4, t0 + timedelta(minutes=4)))
    assert (again.author, again.ip, again.domain) == (3, 3, 3)
    # Twenty minutes later the author and IP windows (10 min) are empty; the domain's (1 h) not.
    later = redis_velocity(redis_url, _subject(5, t0 + timedelta(minutes=24)))
    assert (later.author, later.ip, later.domain) == (0, 0, 4)
    other_site = redis_velocity(redis_url, Subject("site_b", 6, 7, "192.0.2.1", (), t0))
    assert (other_site.author, other_site.ip) == (0, 0)
    assert redis.Redis.from_url(redis_url).ttl("civil:spam:v:site_a:author:7") > 0


def test_an_unreachable_redis_falls_back_to_the_database(db, site):
    with db.session() as session:
        result = measure(
            session,
            Subject(site.site_id, 1, None, "192.0.2.1", (), datetime.now(UTC)),
            "redis://127.0.0.1:1/0",
        )
        assert result == db_velocity(
            session, Subject(site.site_id, 1, None, "192.0.2.1", (), datetime.now(UTC))
        )


def test_after_a_redis_failure_the_next_comments_skip_redis_for_a_while(db, site, monkeypatch):
    from civil.spam import velocity

    url = "redis://127.0.0.1:1/0"  # nothing listens there
    tries = []
    real_client = velocity._client

    def counting(u):
        tries.append(u)
        return real_client(u)

    monkeypatch.setattr(velocity, "_client", counting)
    monkeypatch.setattr(velocity, "_redis_down_until", {})
    with db.session() as session:
        for n in range(3):
            measure(
                session, Subject(site.site_id, n, None, "192.0.2.1", (), datetime.now(UTC)), url
            )
        assert tries == [url], "one connect timeout per batch, not one per comment"
        monkeypatch.setattr(velocity, "_redis_down_until", {url: 0.0})  # the pause is over
        measure(session, Subject(site.site_id, 9, None, "192.0.2.1", (), datetime.now(UTC)), url)
        assert len(tries) == 2
