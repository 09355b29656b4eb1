import pytest
from django.db import transaction

from sync.models import Delivery, Event
from sync.services import EventSpec, event_publish_many
from tests.sync.factories import make_endpoint, publish
from tests.threads import run_concurrently


@pytest.mark.django_db
def test_many_events_get_consecutive_sequences_per_stream_in_the_order_given():
    every, _ = make_endpoint(url="http://127.0.0.1:9/a", topics=["*"])
    paid_only, _ = make_endpoint(url="http://127.0.0.1:9/b", kind="stock", topics=["order.paid"])
    publish("order.created", order_id=7)
    with transaction.atomic():
        events = event_publish_many(events=[
            EventSpec(topic="order.paid", payload={"n": 1}, order_id=7),
            EventSpec(topic="order.created", payload={"n": 2}, order_id=8),
            EventSpec(topic="stock.changed", payload={"n": 3}, stream="sku:A"),
            EventSpec(topic="order.on_hold", payload={"n": 4}, order_id=8),
        ])
    assert [(e.stream, e.sequence) for e in events] == [("order:7", 2), ("order:8", 1), ("sku:A", 1), ("order:8", 2)]
    assert Delivery.objects.filter(endpoint=every).count() == 5
    assert list(Delivery.objects.filter(endpoint=paid_only).values_list("event__payload", flat=True)) == [{"n": 1}]


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_overlapping_streams_neither_deadlock_nor_reuse_a_sequence():
    make_endpoint(url="http://127.0.0.1:9/a", topics=["*"])

    def batch(order_ids):
        def run():
            with transaction.atomic():
                return event_publish_many(events=[
                    EventSpec(topic="order.paid", payload={}, order_id=order_id) for order_id in order_ids
                ])
        return run

    forward, backward = list(range(1, 21)), list(range(20, 0, -1))
    outcomes = run_concurrently([batch(forward if i % 2 else backward) for i in range(8)], timeout=60)
    assert all(status == "ok" for status, _ in outcomes), outcomes
    for order_id in range(1, 21):
        sequences = sorted(Event.objects.filter(order_id=order_id).values_list("sequence", flat=True))
        assert sequences == list(range(1, 9))


@pytest.mark.django_db(transaction=True)
def test_publishing_nothing_writes_nothing():
    with transaction.atomic():
        assert event_publish_many(events=[]) == []
    assert not Event.objects.exists()
