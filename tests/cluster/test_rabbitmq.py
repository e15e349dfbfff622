"""RabbitMQ with quorum queues as the broker, on a vhost of this test's own (deleted afterwards).

The machine's RabbitMQ is one node, so a node failover cannot be shown here; what can is every
connection of the vhost closed by the broker under load (what clients see when the node they
talk to goes away): the API, the worker and the scheduler reconnect and nothing is lost.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.chaos import post_accepted, post_all, wait_settled


def rabbitmqctl(*args: str) -> str:
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl not found: the RabbitMQ tests need a local RabbitMQ")
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def amqp_url() -> Iterator[str]:
    vhost = f"civil-test-{secrets.token_hex(4)}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


def test_rabbitmq_quorum_queues_survive_dropped_connections(make_stack, pg_url, amqp_url, receiver):
    vhost = amqp_url.rsplit("/", 1)[1]
    stack = make_stack(database_url=pg_url, broker_url=amqp_url)
    worker = stack.start_worker(concurrency=2)
    beat = stack.start_beat()
    site = stack.site(receiver)
    ids = post_all(stack, site, 10)

    queues = dict(
        line.split("\t")
        for line in rabbitmqctl(
            "list_queues", "-p", vhost, "--quiet", "--no-table-headers", "name", "type"
        ).splitlines()
        if "\t" in line
    )
    assert {queues.get(q) for q in ("scoring", "delivery", "maintenance")} == {"quorum"}, queues

    for round_ in range(2):
        ids += post_all(stack, site, 5)
        time.sleep(0.2 * round_)
        rabbitmqctl("close_all_connections", "-p", vhost, "cluster test: connections dropped")
        got, _refused = post_accepted(stack, site, 3)  # stored even if the publish failed
        ids += got
        time.sleep(1)
    ids += post_all(stack, site, 5)
    wait_settled(stack, receiver, ids, timeout=120)
    assert worker.poll() is None and beat.poll() is None, stack.logs()

    # The ops signals come from RabbitMQ itself (depth) and the rows (age).
    ready = stack.client.get("/readyz")
    assert ready.status_code == 200, ready.json
    body = stack.client.get("/metrics").get_data(as_text=True)
    for queue in ("scoring", "delivery", "maintenance"):
        assert f'civil_queue_depth{{queue="{queue}"}} 0.0' in body, body[-2000:]
    assert 'civil_queue_oldest_age_seconds{queue="scoring"} 0.0' in body
