"""Per (endpoint, order) ordering, rollback safety and operator resolution of a blocking dead delivery."""

import pytest
from django.db import transaction

from sync.models import Delivery, Event
from sync.services import deliveries_cancel, deliveries_replay, event_publish
from tests.harness.celery_worker import wait_until
from tests.sync.conftest import BROKERS
from tests.sync.factories import make_endpoint, publish

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]


def sequences_seen(server, order_id):
    unique = server.unique_by_webhook_id()
    return [r.json()["data"]["sequence"] for r in unique if r.json()["data"]["order_id"] == order_id]


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_later_event_waits_for_the_earlier_one_but_other_orders_do_not(http_server, broker, sync_worker, sweeper):
    make_endpoint(url=http_server.url("/pay"), retry_schedule=[0, 0.5, 0.5])
    failing_first = {"n": 0}

    def fail_order_1_seq_1(request):
        data = request.json()["data"]
        if data["order_id"] == 1 and data["sequence"] == 1 and failing_first["n"] < 2:
            failing_first["n"] += 1
            http_server.respond_sequence("/pay", [500])

    http_server.on_request(fail_order_1_seq_1)
    for topic in ("order.created", "order.paid", "order.cancelled"):  # sequences 1, 2, 3
        publish(topic, order_id=1)
    publish("order.created", order_id=2)

    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 4, message="all four delivered")
    assert sequences_seen(http_server, 1) == [1, 2, 3]
    raw = [r.json()["data"]["sequence"] for r in http_server.requests if r.json()["data"]["order_id"] == 1]
    assert raw == [1, 1, 1, 2, 3], "two failed attempts of #1, and nothing later sent meanwhile"
    order_2_done = next(r.received_at for r in http_server.requests if r.json()["data"]["order_id"] == 2)
    order_1_done = max(r.received_at for r in http_server.requests_for() if r.json()["data"]["order_id"] == 1)
    assert order_2_done < order_1_done, "order 2 must not wait for order 1's retries"


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_dead_delivery_blocks_the_stream_until_an_operator_cancels_it(http_server, broker, sync_worker, sweeper):
    make_endpoint(url=http_server.url("/pay"), retry_schedule=[0])
    http_server.respond_sequence("/pay", [500])
    publish("order.created", order_id=7)
    publish("order.paid", order_id=7)
    dead = wait_until(lambda: Delivery.objects.filter(state="dead").first(), message="first delivery dead")
    second = Delivery.objects.get(sequence=2)
    # Several sweeps pass; the second event must not overtake the dead first one.
    sweeper.wait_sweeps(4)
    assert len(http_server.requests) == 1
    second.refresh_from_db()
    assert second.state == "pending" and second.attempts == 0

    assert deliveries_cancel(delivery_ids=[dead.pk]) == 1
    wait_until(lambda: Delivery.objects.filter(pk=second.pk, state="succeeded").exists(), message="second delivered")
    assert sequences_seen(http_server, 7) == [1, 2]


def test_replayed_dead_delivery_goes_out_before_the_waiting_one(http_server, sync_worker, sweeper):
    make_endpoint(url=http_server.url("/pay"), retry_schedule=[0])
    http_server.respond_sequence("/pay", [500])
    publish("order.created", order_id=8)
    publish("order.paid", order_id=8)
    dead = wait_until(lambda: Delivery.objects.filter(state="dead").first(), message="first delivery dead")
    assert deliveries_replay(delivery_ids=[dead.pk]) == 1
    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 2, message="both delivered")
    assert [r.json()["data"]["sequence"] for r in http_server.requests] == [1, 1, 2]


def test_event_whose_transaction_rolled_back_is_never_delivered(http_server, sync_worker, sweeper):
    make_endpoint(url=http_server.url("/pay"))

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        rolled_back = event_publish(topic="order.paid", order_id=5, payload={"n": 1})
        raise Boom
    committed = publish("order.paid", order_id=5, payload={"n": 2})

    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 1, message="committed one delivered")
    sweeper.wait_sweeps(3)
    assert [r.webhook_id for r in http_server.requests] == [str(committed.pk)]
    assert not Event.objects.filter(pk=rolled_back.pk).exists()
    # The rolled-back event's sequence number went back with it: the committed one is first in its stream.
    assert committed.sequence == 1
