"""Issue 16 item 2: `unknown_sku` answers do not let a channel probe the catalog beyond what it may sell.

A SKU restricted to some channels (Sku.restricted, listed per channel by a ChannelAllocation) answers every other
channel exactly as a SKU that does not exist; the operator's log says which of the two it was."""

import json
import logging

import pytest

from inventory.services import allocation_set, sku_upsert
from orders.models import Order
from tests.factories import ChannelFactory
from tests.harness.live_api import assert_error
from tests.inventory.factories import WarehouseFactory, stock
from tests.orders.factories import order_body

SCOPES = ["orders:write", "orders:read", "inventory:read"]


@pytest.fixture
def exclusive(transactional_db):
    """SECRET-1 exists, in stock, but only the channel `partner` may sell it."""
    sku, _ = sku_upsert(code="SECRET-1", name="Partner exclusive", restricted=True, actor="user:operator")
    stock(sku, WarehouseFactory(code="main"), 10)
    partner = ChannelFactory(code="partner")
    allocation_set(channel=partner, sku_code="SECRET-1", cap=None, actor="user:operator")
    return partner


def _same_answer(secret, unknown) -> bool:
    """Equal once the two codes are swapped: nothing in status, headers that matter or body tells them apart."""
    swapped = json.loads(json.dumps(unknown.json()).replace("NOPE-1", "SECRET-1"))
    return (secret.status_code, secret.json()) == (unknown.status_code, swapped)


def test_stock_query_answers_a_restricted_sku_as_unknown(make_live_api, exclusive, caplog):
    probe = make_live_api(scopes=SCOPES)
    with caplog.at_level(logging.INFO, logger="inventory"):
        secret = probe.get("/api/v1/stock/?sku=SECRET-1")
        unknown = probe.get("/api/v1/stock/?sku=NOPE-1")
    assert_error(secret, 400, "unknown_sku")
    assert _same_answer(secret, unknown)
    # The operator can tell them apart.
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("inventory")]
    assert any("may not sell: SECRET-1" in m for m in messages), messages
    assert any("unknown: NOPE-1" in m for m in messages), messages

    partner = make_live_api(channel=exclusive, scopes=SCOPES)
    assert partner.get("/api/v1/stock/?sku=SECRET-1").json()["results"][0]["available"] == 10


def test_orders_answer_a_restricted_sku_as_unknown(make_live_api, exclusive):
    probe = make_live_api(scopes=SCOPES)
    line = {"name": "x", "quantity": 1, "unit_price": "5.00"}
    secret = probe.post("/api/v1/orders/", order_body(external_id="p-1", lines=[{**line, "sku": "SECRET-1"}]))
    unknown = probe.post("/api/v1/orders/", order_body(external_id="p-1", lines=[{**line, "sku": "NOPE-1"}]))
    assert_error(secret, 400, "unknown_sku")
    assert _same_answer(secret, unknown)

    bulk = probe.post("/api/v1/orders/bulk/", {"orders": [
        order_body(external_id="b-1", lines=[{**line, "sku": "SECRET-1"}]),
        order_body(external_id="b-1", lines=[{**line, "sku": "NOPE-1"}]),
    ]}).json()["results"]
    assert bulk[0]["body"] == json.loads(json.dumps(bulk[1]["body"]).replace("NOPE-1", "SECRET-1"))
    assert bulk[0]["body"]["code"] == "unknown_sku"
    assert not Order.objects.filter(channel=probe.channel).exists()

    partner = make_live_api(channel=exclusive, scopes=SCOPES)
    response = partner.post("/api/v1/orders/", order_body(lines=[{**line, "sku": "SECRET-1"}]))
    assert response.status_code == 201, response.text
