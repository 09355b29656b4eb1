"""What each broker is configured with, and RabbitMQ's own parts: durable quorum queues per endpoint kind, publisher
confirms, and a drain booked for later (a countdown) travelling through native delayed delivery."""

import pytest
from django.conf import settings

from ordersync.brokers import celery_broker_settings
from sync.models import Delivery
from tests.harness.celery_worker import wait_until
from tests.harness.rabbitmq import rabbitmqctl
from tests.sync.factories import make_endpoint, publish

QUEUES = ["default", "payment"]


def test_rabbitmq_gets_durable_quorum_queues_and_publisher_confirms_but_no_visibility_timeout(tmp_path):
    options = celery_broker_settings("amqp://guest:guest@127.0.0.1:5672//", queues=QUEUES, run_dir=tmp_path,
                                     visibility_timeout=3600)
    assert options["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"confirm_publish": True}
    queues = {q.name: q for q in options["CELERY_TASK_QUEUES"]}
    assert list(queues) == QUEUES
    for name, queue in queues.items():
        assert queue.durable and queue.queue_arguments == {"x-queue-type": "quorum"}
        assert (queue.exchange.name, queue.exchange.type, queue.routing_key) == (name, "topic", name)
    classic = celery_broker_settings("amqp://h//", queues=QUEUES, run_dir=tmp_path, visibility_timeout=1,
                                     queue_type="classic")
    assert classic["CELERY_TASK_QUEUES"][0].queue_arguments == {"x-queue-type": "classic"}


def test_redis_keeps_its_visibility_timeout_and_automatic_queues(tmp_path):
    options = celery_broker_settings("redis://127.0.0.1:6379/3", queues=QUEUES, run_dir=tmp_path,
                                     visibility_timeout=900)
    assert options == {"CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 900}}


def test_every_broker_acks_late_with_prefetch_one():
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.SYNC_MAX_COUNTDOWN < settings.CELERY_VISIBILITY_TIMEOUT


def _queues_of(vhost_url: str) -> dict[str, tuple[str, str]]:
    vhost = vhost_url.rsplit("/", 1)[1]
    out = rabbitmqctl("list_queues", "-p", vhost, "--quiet", "--no-table-headers", "name", "type", "durable")
    return {name: (kind, durable) for name, kind, durable in (line.split("\t") for line in out.splitlines() if line)}


@pytest.mark.needs_broker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["rabbitmq"], indirect=True)
def test_worker_on_rabbitmq_declares_quorum_queues_and_a_retry_countdown_arrives_without_the_sweeper(
        http_server, broker, sync_worker):
    declared = _queues_of(broker.url)
    for name in settings.ORDERSYNC_QUEUES:
        assert declared[name] == ("quorum", "true"), declared
    assert "Failed to setup delayed delivery" not in sync_worker.log()

    # The first attempt fails; the retry is due 2 s later and only a countdown drain can send it (no sweeper here).
    make_endpoint(url=http_server.url("/pay"), retry_schedule=[0, 2])
    http_server.respond_sequence("/pay", [500])
    publish()
    wait_until(lambda: Delivery.objects.filter(state="succeeded").exists(), timeout=30,
               message="the retry sent by a delayed drain")
    assert len(http_server.requests) == 2
    assert any(name.startswith("celery_delayed_") for name in _queues_of(broker.url)), "native delayed delivery"
