"""Status history and stock movements are append-only: the database refuses UPDATE and DELETE whatever the
caller (ORM bulk update, raw SQL), and admin offers neither change nor delete."""

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from inventory.models import StockMovement
from orders.fsm import Status
from orders.models import OrderStatusChange
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(channel, skus):
    make_order(channel, Status.PAID)
    return OrderStatusChange.objects.first(), StockMovement.objects.first()


@pytest.mark.parametrize("model", [OrderStatusChange, StockMovement])
def test_orm_update_and_delete_are_refused_by_the_database(rows, model):
    row = model.objects.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        model.objects.filter(pk=row.pk).update(actor="someone else")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        model.objects.filter(pk=row.pk)._raw_delete(connection.alias)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {model._meta.db_table}")
    assert model.objects.get(pk=row.pk).actor == row.actor


def test_inserts_still_work(rows, channel):
    before = OrderStatusChange.objects.count()
    make_order(channel, Status.CANCELLED)
    assert OrderStatusChange.objects.count() > before


@pytest.mark.parametrize(("model", "name"), [(OrderStatusChange, None), (StockMovement, "inventory_stockmovement")])
def test_admin_cannot_change_or_delete(client, rows, model, name):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    if name is None:  # the status history has no admin of its own; the order page shows it in its timeline only
        from django.contrib import admin

        from orders.models import Order

        assert not admin.site.is_registered(OrderStatusChange)
        order_admin = admin.site._registry[Order]
        assert all(inline.model is not OrderStatusChange for inline in order_admin.inlines)
        order = Order.objects.first()
        page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
        history_forms = f'name="{Order._meta.get_field("status_changes").get_accessor_name()}-TOTAL_FORMS"'
        assert page.status_code == 200 and history_forms not in page.content.decode()
        return
    row = model.objects.first()
    assert client.post(reverse(f"admin:{name}_change", args=[row.pk]), {"actor": "x"}).status_code == 403
    assert client.post(reverse(f"admin:{name}_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    assert model.objects.get(pk=row.pk).actor == row.actor
