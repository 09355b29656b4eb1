"""Every amount is shown with its currency's exponent (EUR 30.40, JPY 1500, KWD 1.125), never as stored (3
decimals): in admin, in event payloads and in status-history payloads such as the pay `amount`."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from orders.actors import Actor
from orders.fsm import Status
from orders.models import OrderStatusChange
from orders.services import order_transition
from sync.models import Event
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db

# currency: (unit price, total as shown, the total as stored when that differs, a pay amount written otherwise)
CASES = {
    "EUR": ("15.20", "30.40", "30.400", "30.400"),
    "JPY": ("750", "1500", "1500.000", "1500.0"),
    "KWD": ("1.125", "2.250", None, "2.25"),
}


def order_in(channel, currency):
    unit_price = CASES[currency][0]
    return make_order(channel, currency=currency,
                      lines=[{"sku": "SKU-A", "name": "Widget", "quantity": 2, "unit_price": unit_price}])


@pytest.mark.parametrize("currency", list(CASES))
def test_admin_shows_amounts_in_the_currencys_precision(client, channel, skus, currency):
    order = order_in(channel, currency)
    shown, stored = CASES[currency][1:3]
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    pages = [client.get(reverse("admin:orders_order_changelist")).content.decode(),
             client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()]
    for html in pages:
        assert f">{shown}<" in html
        if stored:
            assert stored not in html
    change_page = pages[1]
    assert f">{CASES[currency][0]}<" in change_page  # the line's unit price
    if stored:  # EUR, JPY: the zero shipping, tax and discount too
        assert ">0.000<" not in change_page


@pytest.mark.parametrize("currency", list(CASES))
def test_the_pay_amount_in_history_and_events_has_the_currencys_precision(api, channel, currency):
    order = order_in(channel, currency)
    shown, written = CASES[currency][1], CASES[currency][3]
    response = api.post(f"/api/v1/orders/{order.pk}/transitions/pay/", {"amount": written, "currency": currency},
                        format="json")
    assert response.status_code == 200, response.json()
    change = OrderStatusChange.objects.filter(order=order, transition="pay").get()
    assert change.payload["amount"] == shown
    history = api.get(f"/api/v1/orders/{order.pk}/history/").json()
    assert history[-1]["payload"]["amount"] == shown
    event = Event.objects.filter(order_id=order.pk, topic="order.paid").get()
    assert event.payload["total"] == shown
    assert event.payload["lines"][0]["unit_price"] == CASES[currency][0]


def test_a_pay_amount_with_more_decimals_than_the_currency_is_400(api, channel):
    order = order_in(channel, "EUR")
    response = api.post(f"/api/v1/orders/{order.pk}/transitions/pay/", {"amount": "30.401", "currency": "EUR"},
                        format="json")
    assert response.status_code == 400 and "amount" in response.json()["errors"]


def test_admin_transition_payloads_have_the_currencys_precision_too(channel, skus):
    order = order_in(channel, "JPY")
    admin_user = User.objects.create_superuser("root", "root@example.com", "pw")
    order_transition(order_id=order.pk, name="pay", actor=Actor.for_user(admin_user),
                     payload={"amount": "1500.000", "currency": "JPY"})
    assert order.status_changes.latest("id").payload["amount"] == "1500"
    assert order.__class__.objects.get(pk=order.pk).status == Status.PAID
