"""Bad input to POST /orders/: each gets a clear 4xx with a stable code and leaves nothing behind."""

import json

import pytest

from inventory.models import Reservation, StockLevel
from orders.models import Order, OrderLine, OrderStatusChange
from sync.models import Event
from tests.factories import ChannelFactory
from tests.orders.conftest import ALL_ORDER_SCOPES
from tests.orders.factories import order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


@pytest.fixture(autouse=True)
def _nothing_partial(db):
    yield
    assert not Order.objects.exists() and not OrderLine.objects.exists() and not OrderStatusChange.objects.exists()
    assert not Event.objects.exists() and not Reservation.objects.exists()
    assert not StockLevel.objects.filter(reserved__gt=0).exists()


def post_raw(api, body: bytes, content_type="application/json"):
    return api.generic("POST", ORDERS, body, content_type=content_type)


@pytest.mark.parametrize("raw", [b"{", b'{"external_id": "x",}', b"\xff\xfe", b"[1, 2", b"NaN"])
def test_malformed_json_is_400(api, raw):
    response = post_raw(api, raw)
    assert response.status_code == 400 and response.json()["code"] in ("malformed_json", "invalid")


def test_not_an_object_is_400(api):
    response = post_raw(api, b"[]")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_wrong_content_type_is_415(api):
    response = post_raw(api, b"external_id=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"


LINE = {"sku": "SKU-A", "quantity": 1, "unit_price": "10.00"}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"external_id": ""}, "external_id"),
    ({"external_id": 12.5}, None),
    ({"lines": "SKU-A"}, "lines"),
    ({"lines": []}, "lines"),
    ({"lines": [{**LINE, "quantity": 0}]}, "lines"),
    ({"lines": [{**LINE, "quantity": -3}]}, "lines"),
    ({"lines": [{**LINE, "quantity": "two"}]}, "lines"),
    ({"lines": [{**LINE, "quantity": 1.5}]}, "lines"),
    ({"lines": [{**LINE, "quantity": True}]}, "lines"),
    ({"lines": [{**LINE, "unit_price": "-1.00"}]}, "lines"),
    ({"lines": [{**LINE, "unit_price": "10.001"}]}, "lines"),
    ({"lines": [{**LINE, "unit_price": "ten"}]}, "lines"),
    ({"lines": [{**LINE, "unit_price": "1e400"}]}, "lines"),
    ({"currency": "JPY", "lines": [{**LINE, "unit_price": "100.5"}]}, "lines"),
    ({"currency": "KWD", "lines": [{**LINE, "unit_price": "1.0005"}]}, "lines"),
    ({"currency": "ABC"}, "currency"),
    ({"currency": "eur"}, "currency"),
    ({"shipping_total": "1.234"}, "shipping_total"),
    ({"customer_email": "not-an-email"}, "customer_email"),
    ({"placed_at": "tomorrow"}, "placed_at"),
    ({"placed_at": "9999-12-31T23:59:59-23:59"}, "placed_at"),
    ({"shipping_address": {"country": "Germany"}}, "shipping_address"),
    ({"shipping_address": "Main St 1"}, "shipping_address"),
    ({"total": "1.00"}, None),
])
def test_invalid_fields_are_400_naming_the_field(api, overrides, field):
    response = api.post(ORDERS, order_body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid" and body["detail"]
    if field:
        assert field in body.get("errors", {}) or body["detail"].startswith(field), body


def test_a_nul_byte_is_400_invalid_characters_naming_the_field(api):
    """Refused by the API's JSON parser before validation (ordersync.parsers), with the field it was found in."""
    response = api.post(ORDERS, order_body(customer_name="nul\u0000byte"), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_characters" and response.json()["field"] == "customer_name"


def test_unknown_sku_is_400_naming_the_skus(api):
    body = order_body(lines=[LINE, {**LINE, "sku": "GHOST-2"}, {**LINE, "sku": "GHOST-1"}])
    response = api.post(ORDERS, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_sku" and response.json()["skus"] == ["GHOST-1", "GHOST-2"]
    assert "GHOST-1" in response.json()["detail"]


def test_insufficient_stock_with_reject_policy_is_409_naming_the_skus(make_api_client, skus):
    client = make_api_client(channel=ChannelFactory(insufficient_stock_policy="reject"), scopes=ALL_ORDER_SCOPES)
    response = client.post(ORDERS, order_body(lines=[LINE, {**LINE, "sku": "SKU-B", "quantity": 500}]), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock" and response.json()["skus"] == ["SKU-B"]


def test_ten_megabyte_body_is_413(api):
    body = json.dumps({**order_body(), "padding": "x" * (10 * 1024 * 1024)}).encode()
    response = post_raw(api, body)
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


def test_body_over_the_limit_without_content_length_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({**order_body(), "padding": "x" * 2000}).encode()
    response = api.generic("POST", ORDERS, body, content_type="application/json", CONTENT_LENGTH="10")
    assert response.status_code in (400, 413)
    response = post_raw(api, body)
    assert response.status_code == 413
