"""POST /orders/bulk/: a result per item; one bad order fails alone."""

import pytest

from orders.models import Order
from orders.services import BULK_MAX_ORDERS
from tests.orders.factories import make_order, order_body

pytestmark = pytest.mark.django_db

BULK = "/api/v1/orders/bulk/"


def test_each_item_gets_its_own_result(api, channel):
    existing = make_order(channel, external_id="old-1")
    items = [
        order_body(external_id="b-1"),
        order_body(external_id="b-2", lines=[{"sku": "GHOST", "quantity": 1, "unit_price": "1.00"}]),
        order_body(external_id="b-3", lines=[{"sku": "SKU-A", "quantity": 0, "unit_price": "1.00"}]),
        order_body(external_id="old-1", placed_at="2026-11-20T10:00:00Z"),
        order_body(external_id="old-1", customer_name="Changed"),
        order_body(external_id="b-1"),
        "not an order",
    ]
    response = api.post(BULK, {"orders": items}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["status"] for r in results] == [201, 400, 400, 200, 409, 200, 400]
    assert results[1]["body"]["code"] == "unknown_sku" and results[1]["body"]["skus"] == ["GHOST"]
    assert results[2]["body"]["code"] == "invalid"
    assert results[3]["body"]["id"] == existing.pk
    assert results[4]["body"]["code"] == "duplicate_external_id"
    assert results[5]["body"]["id"] == results[0]["body"]["id"]
    assert set(Order.objects.values_list("external_id", flat=True)) == {"old-1", "b-1"}


def test_bulk_replay_creates_nothing_new(api):
    items = [order_body(external_id=f"r-{i}") for i in range(5)]
    first = api.post(BULK, {"orders": items}, format="json").json()["results"]
    again = api.post(BULK, {"orders": items}, format="json").json()["results"]
    assert [r["status"] for r in first] == [201] * 5 and [r["status"] for r in again] == [200] * 5
    assert [r["body"]["id"] for r in first] == [r["body"]["id"] for r in again]
    assert Order.objects.count() == 5


def test_bulk_query_count_is_bounded_per_order(api, django_assert_max_num_queries):
    """About 20 per order: its rows, the reservation (inventory), the outbox event; no per-line queries."""
    items = [order_body(external_id=f"q-{i}") for i in range(20)]
    with django_assert_max_num_queries(20 * 20 + 10):
        response = api.post(BULK, {"orders": items}, format="json")
    assert [r["status"] for r in response.json()["results"]] == [201] * 20


@pytest.mark.parametrize(("body", "status"), [
    ({"orders": []}, 400),
    ({}, 400),
    ({"orders": "all of them"}, 400),
    ({"orders": [order_body()] * (BULK_MAX_ORDERS + 1)}, 400),
])
def test_bad_envelopes_are_400(api, body, status):
    response = api.post(BULK, body, format="json")
    assert response.status_code == status and response.json()["code"] == "invalid"
    assert not Order.objects.exists()
