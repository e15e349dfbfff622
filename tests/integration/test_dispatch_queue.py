"""The dispatcher reads how many delivery messages Redis holds (none: the queue has no key)."""

from __future__ import annotations

from tests.unit.workers.test_dispatch import probe


def test_queued_deliveries_counts_the_redis_delivery_queue(tmp_path, redis_url):
    env = {"CIVIL_DATA_DIR": str(tmp_path / "var"), "CIVIL_BROKER_URL": redis_url}
    assert probe(env) == [0, 3]
