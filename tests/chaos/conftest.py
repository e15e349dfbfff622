"""Chaos scenarios on real processes: every test here is marked `chaos` (run by `make chaos`).

The stack fixtures are the integration suite's; the broker and database that get killed are
this suite's own (tests/support/services.py), never the machine's.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import (  # noqa: F401 - fixtures used by the chaos tests
    make_stack,
    pg_url,
    receiver,
    tiny_checkpoint,
)
from tests.support.markers import mark_folder
from tests.support.services import OwnPostgres, OwnRedis


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_folder(items, Path(__file__).parent, pytest.mark.chaos)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis").start()
    yield server
    server.kill()


@pytest.fixture
def own_pg() -> Iterator[OwnPostgres]:
    # Not under tmp_path: the postgres user (initdb refuses root) must reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="civil-chaos-pg-"))
    cluster = OwnPostgres(folder).init().start()
    yield cluster
    cluster.stop("immediate")
    shutil.rmtree(folder, ignore_errors=True)
