"""Lenient input invites look-alikes and disagreement between systems: money is a decimal string, quantities are
JSON integers, duplicate keys are refused, only application/json is parsed, and no error echoes a huge input."""

import json

import pytest

from orders.models import Order
from tests.harness.live_api import is_error_shape
from tests.orders.factories import order_body

ORDERS = "/api/v1/orders/"
LINE = {"sku": "SKU-A", "name": "Widget", "quantity": 1, "unit_price": "10.00"}


def post_order(api, **overrides):
    return api.post(ORDERS, json=order_body(**overrides))


@pytest.mark.parametrize(("overrides", "field"), [
    ({"lines": [{**LINE, "unit_price": 10.5}]}, "lines"),
    ({"lines": [{**LINE, "unit_price": 10}]}, "lines"),
    ({"shipping_total": 4.9}, "shipping_total"),
    ({"total": 10.0, "lines": [LINE]}, "total"),
    ({"lines": [{**LINE, "unit_price": "١٠"}]}, "lines"),  # Arabic-Indic digits: Decimal() reads them as 10
    ({"lines": [{**LINE, "unit_price": "１０.００"}]}, "lines"),  # full-width digits
    ({"shipping_total": "٤"}, "shipping_total"),
    ({"lines": [{**LINE, "unit_price": " 10.00"}]}, "lines"),
    ({"lines": [{**LINE, "unit_price": "1e1"}]}, "lines"),
    ({"lines": [{**LINE, "unit_price": "+10.00"}]}, "lines"),
])
def test_money_is_a_decimal_string_of_ascii_digits(live_api, overrides, field):
    response = post_order(live_api, **overrides)
    assert response.status_code == 400, response.text
    assert is_error_shape(response) and response.json()["code"] == "invalid"
    assert field in response.json()["errors"], response.json()
    assert not Order.objects.filter(external_id=overrides.get("external_id", "")).exists()


@pytest.mark.parametrize("quantity", ["2", 1000.0, 2.0, True, "٢", "1e2"])
def test_a_quantity_is_a_json_integer(live_api, quantity):
    response = post_order(live_api, external_id="q", lines=[{**LINE, "quantity": quantity}])
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid" and "lines" in response.json()["errors"]
    assert not Order.objects.filter(external_id="q").exists()


@pytest.mark.parametrize("amount", [25.5, "٢٥.٥٠", "25.500000"])
def test_the_paid_amount_is_a_decimal_string_in_the_currency(live_api, amount):
    order = live_api.order
    response = live_api.post(f"{ORDERS}{order.pk}/transitions/pay/", json={"amount": amount, "currency": "EUR"})
    assert response.status_code == 400, response.text
    assert "amount" in response.json()["errors"]
    order.refresh_from_db()
    assert order.status == "new"


def test_money_as_a_string_is_still_accepted(live_api):
    response = post_order(live_api, external_id="ok", shipping_total="4.90",
                          lines=[{**LINE, "unit_price": "10.5"}, {**LINE, "sku": "SKU-B", "unit_price": "0"}])
    assert response.status_code == 201, response.text
    assert response.json()["total"] == "15.40"


def test_duplicate_json_keys_are_refused(live_api):
    body = json.dumps(order_body(external_id="dup-1"))[:-1] + ', "external_id": "dup-2"}'
    response = live_api.post(ORDERS, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert is_error_shape(response) and response.json()["code"] == "malformed_json"
    assert "external_id" in response.json()["detail"]
    assert not Order.objects.filter(external_id__startswith="dup-").exists()


def test_duplicate_keys_inside_nested_objects_are_refused(live_api):
    body = '{"orders": [{"external_id": "n", "lines": [{"sku": "SKU-A", "sku": "SKU-B"}]}]}'
    response = live_api.post(ORDERS + "bulk/", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["code"] == "malformed_json"


@pytest.mark.parametrize("content_type", ["*/*", "application/*", "text/plain", "application/x-www-form-urlencoded",
                                          "text/json", "application/vnd.api+json", "application/jsonx"])
def test_only_application_json_is_parsed_as_json(live_api, content_type):
    body = json.dumps(order_body(external_id="ct")).encode()
    response = live_api.post(ORDERS, data=body, headers={"Content-Type": content_type})
    assert response.status_code == 415, (content_type, response.status_code, response.text[:200])
    assert is_error_shape(response) and response.json()["code"] == "unsupported_media_type"
    assert not Order.objects.filter(external_id="ct").exists()


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON"])
def test_application_json_with_parameters_is_parsed(live_api, content_type):
    body = json.dumps(order_body(external_id="ct-ok")).encode()
    response = live_api.post(ORDERS, data=body, headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text


HUGE = "X" * 100_000


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("post", ORDERS, {"json": order_body(currency=HUGE)}),
    ("post", ORDERS, {"json": order_body(lines=[{**LINE, "unit_price": HUGE}])}),
    ("post", ORDERS, {"json": order_body(lines=[{**LINE, "sku": f"GHOST-{i:03}-" + "Y" * 50} for i in range(200)])}),
    ("post", ORDERS, {"json": {**order_body(), "placed_at": HUGE}}),
    ("get", ORDERS, {"params": {"status": "Z" * 20_000}}),
    ("get", ORDERS, {"params": {"Q" * 20_000: "1"}}),
    # A path segment longer than the file system allows makes the test server's static-file lookup fail first.
    ("post", ORDERS + "1/transitions/" + "T" * 250 + "/", {"json": {}}),
])
def test_errors_never_echo_a_huge_input(live_api, method, path, kwargs):
    response = live_api.request(method, path, **kwargs)
    assert 400 <= response.status_code < 500, response.status_code
    assert is_error_shape(response)
    assert len(response.json()["detail"]) <= 500
    # Lists of what was wrong (at most 200 unknown SKUs of 64 characters) stay; 100 KB echoed back does not.
    assert len(response.content) < 16_000, response.text[:300]
