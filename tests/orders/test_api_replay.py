"""An identical retry is always a replay (200, the stored order), whatever optional field it leaves out: no default
(placed_at = now, currency = the channel's, ...) may enter the body hash and make two identical requests differ."""

import json

import pytest

from orders.api.serializers import AddressSerializer, OrderInSerializer, OrderLineInSerializer
from orders.models import Order
from tests.orders.factories import order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def optional_fields() -> list[str]:
    """Every optional field of the order body, its lines and addresses, read from the serializers themselves."""
    order = [name for name, field in OrderInSerializer().fields.items() if not field.required]
    line = [f"lines.{name}" for name, field in OrderLineInSerializer().fields.items() if not field.required]
    address = [f"shipping_address.{name}" for name, field in AddressSerializer().fields.items() if not field.required]
    return order + line + address


def without(body: dict, dotted: str) -> dict:
    body = json.loads(json.dumps(body))
    head, _, tail = dotted.partition(".")
    if not tail:
        body.pop(head, None)
    elif head == "lines":
        for line in body["lines"]:
            line.pop(tail, None)
    else:
        body[head].pop(tail, None)
    return body


def full_body(external_id: str) -> dict:
    """Every optional field present, so leaving each out is a real difference."""
    address = {"name": "Ada", "company": "AE", "line1": "1 St", "line2": "Flat 2", "city": "London",
               "postal_code": "N1", "region": "LDN", "country": "GB", "phone": "+44"}
    return order_body(external_id=external_id, customer_phone="+44 1", shipping_address=address,
                      billing_address={"country": "GB"}, shipping_total="4.90", tax_total="1.00",
                      discount_total="0.40", total="31.00")


def test_the_list_of_optional_fields_is_complete():
    assert {"placed_at", "currency", "total", "shipping_total", "lines.name", "shipping_address.country"} <= set(
        optional_fields())


@pytest.mark.parametrize("field", optional_fields())
def test_an_identical_retry_without_an_optional_field_is_a_replay(api, field):
    body = without(full_body(f"replay-{field}"), field)
    if field in ("shipping_total", "tax_total", "discount_total"):
        body.pop("total")  # it would no longer add up
    first = api.post(ORDERS, body, format="json")
    assert first.status_code == 201, first.json()
    again = api.post(ORDERS, body, format="json")
    assert again.status_code == 200, again.json()
    assert again.json() == first.json()
    assert Order.objects.filter(external_id=body["external_id"]).count() == 1


def test_the_probe_an_order_without_placed_at_sent_twice(api):
    """Issue 13's reproduction: the second answer was 409 duplicate_external_id, as the default now was hashed."""
    body = without(order_body(external_id="no-placed-at"), "placed_at")
    assert api.post(ORDERS, body, format="json").status_code == 201
    response = api.post(ORDERS, body, format="json")
    assert response.status_code == 200, response.json()


def test_a_retry_in_bulk_without_placed_at_is_a_replay(api):
    body = {"orders": [without(order_body(external_id="bulk-no-placed-at"), "placed_at")]}
    assert api.post(ORDERS + "bulk/", body, format="json").json()["results"][0]["status"] == 201
    assert api.post(ORDERS + "bulk/", body, format="json").json()["results"][0]["status"] == 200


def test_a_retry_after_the_channel_currency_changed_is_still_a_replay(api, channel):
    body = without(order_body(external_id="cur"), "currency")
    first = api.post(ORDERS, body, format="json").json()
    channel.currency = "USD"
    channel.save()
    again = api.post(ORDERS, body, format="json")
    assert again.status_code == 200 and again.json()["id"] == first["id"] and again.json()["currency"] == "EUR"


@pytest.mark.parametrize(("field", "default"), [
    ("shipping_total", "0"), ("discount_total", "0.00"), ("customer_phone", ""), ("language", "en"),
    ("billing_address", {}), ("lines.name", "SKU-A"),
])
def test_sending_the_default_or_leaving_it_out_is_the_same_order(api, field, default):
    body = without(order_body(external_id=f"default-{field}"), field)
    assert api.post(ORDERS, body, format="json").status_code == 201
    head, _, tail = field.partition(".")
    if tail:
        body["lines"][0][tail] = default
    else:
        body[head] = default
    assert api.post(ORDERS, body, format="json").status_code == 200


@pytest.mark.parametrize(("change", "value"), [("placed_at", "2026-11-21T10:00:00Z"), ("customer_name", "Other"),
                                               ("shipping_total", "1.00"), ("currency", "USD")])
def test_a_real_difference_is_still_a_conflict(api, change, value):
    body = order_body(external_id=f"diff-{change}")
    assert api.post(ORDERS, body, format="json").status_code == 201
    response = api.post(ORDERS, {**body, change: value}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "duplicate_external_id"


def test_amounts_written_differently_are_the_same_order(api):
    body = order_body(external_id="amounts", lines=[{"sku": "SKU-A", "quantity": 2, "unit_price": "10.5"}])
    assert api.post(ORDERS, body, format="json").status_code == 201
    body["lines"][0]["unit_price"] = "10.50"
    assert api.post(ORDERS, body, format="json").status_code == 200
