"""Several hosts and failing-over brokers: every test here is marked `cluster` (make cluster-test).

The hosts are network namespaces on this machine (tests/support/netns.py; root needed); the
PostgreSQL, Redis, Sentinel and PgBouncer processes are this suite's own, in temp folders, and
RabbitMQ tests use a vhost of their own, deleted afterwards. None of the machine's services is
stopped or flushed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import (  # noqa: F401 - fixtures used by the cluster tests
    make_stack,
    pg_url,
    receiver,
    redis_url,
    tiny_checkpoint,
)
from tests.support.markers import mark_folder
from tests.support.netns import Cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_folder(items, Path(__file__).parent, pytest.mark.cluster)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if os.geteuid() != 0:
        pytest.fail("the cluster tests build network namespaces: run them as root")
    hosts = Cluster()
    try:
        hosts.build()
        hosts.start_services()
        yield hosts
    finally:
        hosts.close()
