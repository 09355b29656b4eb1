"""Real threads, each on its own PostgreSQL connection, racing on the same order."""

import threading

import pytest
from django.db import connection, transaction

from orders.actors import Actor
from orders.fsm import Status
from orders.models import Order, OrderStatusChange
from orders.services import order_ingest, order_transition
from ordersync.api import ApiError
from sync.models import Event
from tests.orders.factories import make_order, order_body, payload_for, service_data
from tests.threads import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_threads(*calls):
    """Each call's result or the exception it raised, all started at the same instant on their own connections."""
    return [outcome for _status, outcome in run_concurrently(list(calls), timeout=30)]


def transition_call(order, name):
    payload = payload_for(name, order)
    return lambda: order_transition(order_id=order.pk, name=name, actor=Actor.system(), payload=payload)


# Pairs where neither transition is allowed after the other, so exactly one may ever succeed.
@pytest.mark.parametrize(("state", "first", "second"), [
    (Status.NEW, "pay", "pay"),
    (Status.FULFILLING, "ship", "cancel"),
    (Status.NEW, "cancel", "cancel"),
])
def test_concurrent_transitions_one_wins_the_other_gets_a_clean_conflict(channel, skus, state, first, second):
    for round_ in range(4):
        order = make_order(channel, state, external_id=f"race-{first}-{second}-{round_}")
        changes_before = OrderStatusChange.objects.filter(order=order).count()
        events_before = Event.objects.filter(order_id=order.pk).count()
        results = run_in_threads(transition_call(order, first), transition_call(order, second))

        winners = [r for r in results if isinstance(r, Order)]
        losers = [r for r in results if not isinstance(r, Order)]
        assert len(winners) == 1, results
        assert len(losers) == 1 and isinstance(losers[0], ApiError), results
        assert losers[0].status_code == 409 and losers[0].code in ("conflict", "invalid_transition")
        assert Order.objects.get(pk=order.pk).status == winners[0].status
        assert OrderStatusChange.objects.filter(order=order).count() == changes_before + 1
        assert Event.objects.filter(order_id=order.pk).count() == events_before + 1


def test_transition_while_another_holds_the_order_is_a_conflict(channel, skus):
    order = make_order(channel, Status.NEW)
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=order.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        result = run_in_threads(transition_call(order, "pay"))[0]
    finally:
        release.set()
        holder.join()
    assert isinstance(result, ApiError) and (result.status_code, result.code) == (409, "conflict")
    assert Order.objects.get(pk=order.pk).status == Status.NEW


def test_concurrent_duplicate_ingest_makes_exactly_one_order(channel, skus):
    data = service_data(order_body(external_id="dup-1"))
    results = run_in_threads(*[
        (lambda: order_ingest(channel=channel, data=dict(data), actor=Actor.system())) for _ in range(6)
    ])
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.order.pk for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Order.objects.filter(channel=channel, external_id="dup-1").count() == 1
    order = Order.objects.get(external_id="dup-1")
    assert Event.objects.filter(order_id=order.pk, topic="order.created").count() == 1
