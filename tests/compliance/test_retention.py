"""Retention anonymises exactly the finished orders whose last change is older than N days."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.models import Erasure
from compliance.personal_data import orders_anonymise_retained
from compliance.tasks import retention_sweep
from orders.fsm import Status
from orders.models import Order, OrderStatusChange
from sync.models import Event
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db


def age(order, days):
    # The status history is append-only for services; a test may still back-date its fixture rows in SQL.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no user triggers (the append-only guard)
        OrderStatusChange.objects.filter(order=order).update(created_at=timezone.now() - timedelta(days=days))
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_retention_anonymises_exactly_the_right_orders(channel, skus, settings):
    old_delivered = make_order(channel, Status.DELIVERED)
    old_cancelled = make_order(channel, Status.CANCELLED)
    old_open = make_order(channel, Status.PAID)
    recent = make_order(channel, Status.DELIVERED)
    for order in (old_delivered, old_cancelled, old_open):
        age(order, 31)
    age(recent, 29)
    settings.ORDER_RETENTION_DAYS = 30
    assert retention_sweep() == 2
    erased = set(Order.objects.filter(customer_name="erased").values_list("id", flat=True))
    assert erased == {old_delivered.pk, old_cancelled.pk}
    assert "ada@example.com" not in str(list(Event.objects.filter(order_id__in=erased).values("payload")))
    assert Order.objects.get(pk=recent.pk).customer_email == "ada@example.com"
    assert Erasure.objects.get().order_ids == sorted(erased)
    assert retention_sweep() == 0  # idempotent


def test_retention_off_by_default(channel, skus, settings):
    order = make_order(channel, Status.DELIVERED)
    age(order, 1000)
    settings.ORDER_RETENTION_DAYS = 0
    assert orders_anonymise_retained() is None
    assert Order.objects.get().customer_email == "ada@example.com"
