import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.fsm import Status
from orders.models import Order, OrderStatusChange
from tests.console.factories import add_delivery, add_inbound, add_notification
from tests.orders.factories import make_order, stock_skus
from tests.sync.factories import make_endpoint


@pytest.fixture
def order(channel):
    stock_skus("SKU-A", "SKU-B")
    return make_order(channel, Status.NEW, billing_address={"name": "Ada Billing", "line1": "2 Ledger Row",
                                                            "city": "Leeds", "country": "GB"})


@pytest.fixture
def endpoint(db):
    return make_endpoint(url="http://127.0.0.1:9/hook")[0]


def page(client, user, order):
    client.force_login(user)
    return client.get(reverse("admin:orders_order_change", args=[order.pk]))


def test_the_order_page_shows_customer_addresses_and_money(client, operator_user, order):
    body = page(client, operator_user, order).content.decode()
    assert "1 Analytical St<br>" in body and "N1 1AA London<br>" in body
    assert "2 Ledger Row<br>" in body
    assert "ada@example.com<br>" in body
    assert ">25.50<" in body and ">EUR<" in body and "25.500" not in body


def test_the_timeline_merges_everything_newest_first(client, operator_user, order, endpoint):
    add_inbound(order)
    add_delivery(order, endpoint)
    add_notification(order)
    body = page(client, operator_user, order).content.decode()
    kinds = re.findall(r'data-kind="(\w+)"', body)
    assert kinds == ["notification", "delivery", "inbound", "status"]
    assert "upstream busy #1" in body and "503" in body and "HTTP 503" in body
    assert body.index("upstream busy #1") < body.index("upstream busy #0")  # attempts newest first too
    assert "by channel:" in body  # the ingest's actor


def test_buttons_are_only_the_transitions_the_user_may_run_now(client, role_user, order):
    buttons = {role: set(re.findall(r'data-transition="(\w+)"', page(client, role_user(role), order).content.decode()))
               for role in ("viewer", "operator", "admin")}
    assert buttons["viewer"] == set()
    assert buttons["operator"] == buttons["admin"] == {"pay", "hold", "cancel"}  # never expire


def transition_url(order, name):
    return reverse("admin:orders_order_transition", args=[order.pk, name])


def test_cancel_asks_for_a_reason_then_runs_as_the_user(client, operator_user, order):
    client.force_login(operator_user)
    confirm = client.get(transition_url(order, "cancel"))
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    missing = client.post(transition_url(order, "cancel"), {"reason": "  "})
    assert missing.status_code == 400
    assert Order.objects.get(pk=order.pk).status == Status.NEW
    done = client.post(transition_url(order, "cancel"), {"reason": "customer called"}, follow=True)
    assert "now Cancelled" in done.content.decode()
    change = OrderStatusChange.objects.filter(order=order).last()
    assert (change.transition, change.user, change.reason) == ("cancel", operator_user, "customer called")


def test_a_refused_guard_is_reported_and_nothing_changes(client, operator_user, order):
    client.force_login(operator_user)
    response = client.post(transition_url(order, "pay"), {"amount": "1.00", "currency": "EUR"})
    assert response.status_code == 409
    assert "Mark paid refused: Cannot pay: the paid amount and currency must equal the order total" in (
        response.content.decode())
    assert Order.objects.get(pk=order.pk).status == Status.NEW


def test_ship_asks_for_the_tracking_number(client, operator_user, channel):
    stock_skus("SKU-A", "SKU-B")
    order = make_order(channel, Status.FULFILLING)
    client.force_login(operator_user)
    assert 'name="tracking_number"' in client.get(transition_url(order, "ship")).content.decode()
    client.post(transition_url(order, "ship"), {"tracking_number": "1Z999", "carrier": "UPS"})
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Status.SHIPPED, "1Z999")


def test_a_transition_not_possible_now_offers_no_form(client, operator_user, order):
    client.force_login(operator_user)
    body = client.get(transition_url(order, "ship")).content.decode()
    assert "not possible while the order is in this status" in body and "transition-form" not in body


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_viewer_is_refused_every_transition_page(client, viewer, order, method):
    client.force_login(viewer)
    response = getattr(client, method)(transition_url(order, "cancel"), {"reason": "no"})
    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).status == Status.NEW


def test_nobody_may_run_a_system_only_transition(client, admin_user, order):
    client.force_login(admin_user)  # a superuser
    assert client.get(transition_url(order, "expire")).status_code == 403
    assert client.post(transition_url(order, "expire")).status_code == 403


def test_the_order_page_query_count_does_not_grow_with_its_history(client, operator_user, order, endpoint):
    def count():
        client.force_login(operator_user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 200
        return len(queries)

    add_inbound(order)
    add_delivery(order, endpoint, topic="order.paid")
    add_notification(order)
    small = count()
    for topic in ("order.fulfilling", "order.shipped", "order.delivered", "order.returned"):
        add_inbound(order)
        add_delivery(order, endpoint, attempts=5, topic=topic)
        add_notification(order)
    assert count() == small
    assert small <= 25, small
