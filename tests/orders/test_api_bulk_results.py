"""POST /orders/bulk/ answers each item with the body POST /orders/ or GET /orders/{id}/ would give."""

import pytest

from tests.factories import ChannelFactory
from tests.orders.conftest import ALL_ORDER_SCOPES
from tests.orders.factories import order_body

pytestmark = pytest.mark.django_db

BULK = "/api/v1/orders/bulk/"
SHORT = [{"sku": "SKU-A", "quantity": 60, "unit_price": "1.00"}]


def test_bodies_match_what_get_returns_for_created_held_and_replayed_orders(api):
    api.post("/api/v1/orders/", order_body(external_id="old"), format="json")
    items = [order_body(external_id="new"), order_body(external_id="short-1", lines=SHORT),
             order_body(external_id="short-2", lines=SHORT), order_body(external_id="old")]
    results = api.post(BULK, {"orders": items}, format="json").json()["results"]

    assert [r["status"] for r in results] == [201, 201, 201, 200]
    assert [r["body"]["status"] for r in results] == ["new", "new", "on_hold", "new"]
    for result in results:
        assert result["body"] == api.get(f"/api/v1/orders/{result['body']['id']}/").json()


def test_reject_policy_answers_409_per_item(make_api_client, skus):
    api = make_api_client(channel=ChannelFactory(insufficient_stock_policy="reject"), scopes=ALL_ORDER_SCOPES)
    items = [order_body(external_id="a", lines=SHORT), order_body(external_id="b", lines=SHORT)]
    results = api.post(BULK, {"orders": items}, format="json").json()["results"]

    assert [r["status"] for r in results] == [201, 409]
    assert results[1]["body"] == {
        "code": "insufficient_stock", "detail": "Not enough stock for SKU-A; nothing was stored.",
        "skus": ["SKU-A"], "shortages": [{"sku": "SKU-A", "requested": 60, "available": 40}],
    }
