"""OWASP API1 (broken object level authorization), over real HTTP: a key never reaches another channel's objects.

Every operation of the published schema is classified below; one that names an order (`{id}`) is sent with
another channel's order id and must answer 404 `not_found` (the same as an order that does not exist) and leave
that order untouched. The schema is checked against the URL conf, so a new endpoint fails
`test_every_operation_is_classified` until someone decides how it is isolated.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from channels_integration.models import SkuMapping
from channels_integration.services import sku_mapping_upsert
from orders.fsm import TRANSITIONS
from orders.models import Order
from tests.factories import ChannelFactory
from tests.harness.live_api import api_operations, assert_error
from tests.orders.factories import make_order, order_body

# How each operation keeps a channel to its own objects.
NAMES_AN_ORDER = {"/api/v1/orders/{id}/", "/api/v1/orders/{id}/history/", "/api/v1/orders/{id}/transitions/{name}/"}
CHANNEL_SCOPED = {  # reads or writes only rows of the key's channel, checked in the tests below
    "/api/v1/orders/": "list filtered by channel; create makes the key's own order",
    "/api/v1/orders/bulk/": "creates the key's own orders",
    "/api/v1/sku-mappings/": "lists the key's channel's mappings",
    "/api/v1/sku-mappings/{sku}/": "reads and sets the key's channel's mapping",
    "/api/v1/stock/": "availability for the key's channel (restricted SKUs: test_stock_catalog_probe.py)",
}
STOCK_SYSTEM_ONLY = {"/api/v1/skus/{code}/", "/api/v1/stock/{sku}/"}  # inventory:write (test_stock_scopes.py)
SHARED = {"/api/v1/warehouses/": "warehouse codes are the same for every channel"}


@pytest.fixture
def foreign(live_api):
    """Another channel's order, with a history."""
    return make_order(ChannelFactory(currency="EUR"))


def _snapshot(order: Order) -> tuple:
    order.refresh_from_db()
    return order.status, order.updated_at, order.total, order.status_changes.count(), order.channel_id


def _api_routes() -> set[str]:
    """Every route under api/v1/ in the URL conf, as schema templates (`<str:pk>` -> `{id}`)."""
    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return {"/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + ("id" if m.group(1) == "pk" else m.group(1)) + "}",
                         route)
            for route in walk(get_resolver()) if route.startswith("api/v1/")}


def test_every_operation_is_classified(live_api):
    templates = {op.template for op in api_operations(live_api, {"id": "1", "name": "hold", "code": "A", "sku": "A"})}
    assert _api_routes() == templates, "an api/v1/ route is missing from the schema (or the reverse)"
    classified = NAMES_AN_ORDER | set(CHANNEL_SCOPED) | STOCK_SYSTEM_ONLY | set(SHARED)
    assert templates == classified, f"classify {templates - classified} here; stale: {classified - templates}"


def _foreign_operations(live_api, foreign):
    """Every operation naming an order, with the foreign id; transitions once per transition name."""
    operations = []
    for name in TRANSITIONS:
        operations += [op for op in api_operations(live_api, {"id": str(foreign.pk), "name": name, "code": "SKU-A",
                                                              "sku": "SKU-A"})
                       if op.template in NAMES_AN_ORDER and (name == "hold" or "{name}" in op.template)]
    return operations


def test_another_channels_order_is_404_on_every_operation_that_names_it(live_api, foreign):
    before = _snapshot(foreign)
    operations = _foreign_operations(live_api, foreign)
    assert {op.template for op in operations} == NAMES_AN_ORDER
    assert sum("transitions" in op.path for op in operations) == len(TRANSITIONS)
    missing_id = str(foreign.pk + 10_000)
    for op in operations:
        name = op.path.rstrip("/").rsplit("/", 1)[-1]
        body = {"amount": str(foreign.total), "currency": "EUR", "payment_reference": "mine",
                "tracking_number": "T-1", "carrier": "DHL", "reason": f"{name} it"} if op.has_body else None
        response = live_api.request(op.method, op.path, json=body)
        # `expire` is run by OrderSync only: every key gets 403 for it, before any order is looked up.
        nobody_may = "{name}" in op.template and TRANSITIONS[name].scope is None
        assert_error(response, 403 if nobody_may else 404, "permission_denied" if nobody_may else "not_found")
        # The same answer as for an order that does not exist: nothing tells the two apart.
        absent = live_api.request(op.method, op.path.replace(f"/{foreign.pk}/", f"/{missing_id}/"), json=body)
        assert (absent.status_code, absent.json()["code"]) == (response.status_code, response.json()["code"])
        assert absent.json()["detail"].replace(missing_id, "N") == response.json()["detail"].replace(
            str(foreign.pk), "N"), str(op)
    assert _snapshot(foreign) == before


def test_lists_and_filters_never_show_another_channels_order(live_api, foreign):
    for params in ({}, {"external_id": foreign.external_id}, {"status": foreign.status}, {"limit": 200}):
        ids = [o["id"] for o in live_api.get("/api/v1/orders/", params=params).json()["results"]]
        assert foreign.pk not in ids, params


@pytest.mark.parametrize("path", ["/api/v1/orders/", "/api/v1/orders/bulk/"])
def test_creating_with_another_channels_external_id_and_order_id_makes_an_order_of_ones_own(live_api, foreign,
                                                                                            path):
    before = _snapshot(foreign)
    body = order_body(external_id=foreign.external_id, id=foreign.pk)
    response = live_api.post(path, {"orders": [body]} if path.endswith("bulk/") else body)
    assert response.status_code in (200, 201, 400), response.text
    refused = response.status_code == 400 or response.json().get("results", [{}])[0].get("status") == 400
    mine = Order.objects.filter(channel=live_api.channel, external_id=foreign.external_id)
    assert mine.count() == (0 if refused else 1)
    assert not mine.filter(pk=foreign.pk).exists()
    assert _snapshot(foreign) == before


def test_another_channels_sku_mapping_is_neither_read_nor_changed(make_live_api):
    their_channel = ChannelFactory(kind="woocommerce", currency="EUR")
    theirs, _ = sku_mapping_upsert(channel=their_channel, sku_code="SKU-A", product_id=111, variant_id=222)
    live_api = make_live_api(channel=ChannelFactory(kind="woocommerce", currency="EUR"))
    assert_error(live_api.get("/api/v1/sku-mappings/SKU-A/"), 404, "not_found")
    assert live_api.get("/api/v1/sku-mappings/").json()["results"] == []
    response = live_api.put("/api/v1/sku-mappings/SKU-A/", {"product_id": 999, "variant_id": 998})
    assert response.status_code in (200, 201), response.text
    theirs.refresh_from_db()
    assert (theirs.product_id, theirs.variant_id) == (111, 222)
    assert SkuMapping.objects.get(channel=live_api.channel, sku_code="SKU-A").product_id == 999
