"""Sentinel broker URLs, the counters' Redis URL and the broker kinds in Settings."""

from __future__ import annotations

import pytest

from civil.redisconn import from_kombu_url, parse
from civil.settings import Settings


def test_kombu_sentinel_url_becomes_one_target():
    target = from_kombu_url("sentinel://:pw@s1:26379/2;sentinel://s2:26380/2", "civil")
    assert target.sentinels == (("s1", 26379), ("s2", 26380))
    assert (target.master_name, target.db, target.password) == ("civil", 2, "pw")
    assert parse(target.url()) == target


def test_sentinel_broker_settings():
    settings = Settings.from_env(
        {}, broker_url="sentinel://s1:26379;sentinel://s2:26379", broker_master_name="civil"
    )
    assert settings.broker_kind == "sentinel"
    assert settings.broker_transport_options()["master_name"] == "civil"
    assert settings.redis_url == "redis+sentinel://s1:26379,s2:26379/civil?db=0"
    with pytest.raises(ValueError, match="MASTER_NAME"):
        Settings.from_env({}, broker_url="sentinel://s1:26379")


def test_rabbitmq_takes_quorum_queues_and_a_separate_redis():
    settings = Settings.from_env({}, broker_url="amqp://guest:guest@mq:5672/civil")
    assert settings.broker_kind == "amqp"
    assert settings.queue_arguments() == {"x-queue-type": "quorum"}
    assert settings.redis_url is None  # rate limits per process unless CIVIL_SHARED_REDIS_URL
    shared = Settings.from_env({}, broker_url="amqp://mq//", shared_redis_url="redis://r:6379/1")
    assert shared.redis_url == "redis://r:6379/1"
    assert Settings.from_env({}, broker_url="redis://r:6379/0").queue_arguments() == {}


def test_redis_cluster_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="Redis Cluster"):
        Settings.from_env({}, broker_url="redis+cluster://r1:7000")
