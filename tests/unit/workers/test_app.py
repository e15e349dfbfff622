"""The Celery app's settings that keep a worker alive through a broker outage."""

from civil.settings import Settings
from cli.supervisor import worker_command
from workers.app import make_celery


def test_the_worker_reconnects_for_as_long_as_the_broker_is_down():
    conf = make_celery(Settings.from_env({}, broker_url="redis://127.0.0.1:6379/0")).conf
    # None: retry forever; the default (100) ends the worker after a few minutes of outage.
    assert conf.broker_connection_retry is True and conf.broker_connection_max_retries is None


def test_the_worker_runs_without_the_bootsteps_that_reconnect_their_own_channels():
    command = worker_command("scoring", 1)
    assert "--without-gossip" in command and "--without-mingle" in command


def test_retention_is_on_the_beat_schedule_at_the_configured_interval():
    conf = make_celery(Settings.from_env({}, retention_interval_seconds=120)).conf
    entry = conf.beat_schedule["apply-retention"]
    assert entry["task"] == "civil.apply_retention"
    assert entry["schedule"].total_seconds() == 120
    assert conf.task_routes["civil.apply_retention"] == {"queue": "maintenance"}


def test_rabbitmq_queues_are_quorum_queues_on_both_sides():
    from service.broker import make_producer

    settings = Settings.from_env({}, broker_url="amqp://guest:guest@127.0.0.1:5672/civil")
    worker = make_celery(settings).conf
    producer = make_producer(settings).conf
    for conf in (worker, producer):
        assert {q.name: q.queue_arguments for q in conf.task_queues} == {
            name: {"x-queue-type": "quorum"} for name in ("scoring", "delivery", "maintenance")
        }
    assert worker.worker_detect_quorum_queues is True
    assert worker.broker_transport_options == {"confirm_publish": True}


def test_sentinel_brokers_get_the_guarded_sentinel_transport():
    settings = Settings.from_env(
        {}, broker_url="sentinel://127.0.0.1:26379/0", broker_master_name="civil"
    )
    conf = make_celery(settings).conf
    assert conf.broker_transport == "workers.brokerredis:SentinelTransport"
    assert conf.broker_transport_options["master_name"] == "civil"
