"""Crafted requests that used to reach a 500: forged cursors, deeply nested JSON, and the error pages themselves.

Every answer must be a 4xx (or, for a real server fault, a 500) in the API's error shape, never Django's HTML.
"""

import base64
import json

import pytest
import requests

from tests.harness.live_api import is_error_shape

ORDERS = "/api/v1/orders/"


def cursor(querystring: str) -> str:
    return base64.b64encode(querystring.encode()).decode()


@pytest.mark.parametrize("forged", [
    "p=abc",  # the probe's cursor, cD1hYmM=
    "p=1.5",
    "p=-7",
    "p=99999999999999999999999999",
    "p=%00",
    "o=1&p=",
    "r=1&p=1e3",
])
def test_a_forged_cursor_is_invalid_cursor_not_a_500(live_api, forged):
    response = live_api.get(ORDERS, params={"cursor": cursor(forged)})
    assert response.status_code == 404, response.text
    assert is_error_shape(response) and response.json()["code"] == "invalid_cursor"


def test_the_cursors_the_api_issues_still_work(live_api):
    from tests.orders.factories import make_order

    for _ in range(3):
        make_order(live_api.channel)
    page = live_api.get(ORDERS, params={"limit": 2}).json()
    nxt = live_api.get(page["next"])
    assert nxt.status_code == 200 and len(nxt.json()["results"]) == 2


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json_is_400_on_every_json_endpoint(live_api, operations, depth):
    with_body = [op for op in operations if op.has_body]
    assert {op.template for op in with_body} >= {"/api/v1/orders/", "/api/v1/orders/bulk/", "/api/v1/skus/{code}/"}
    for op in with_body:
        response = live_api.request(op.method, op.path, data=nested(depth),
                                    headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (str(op), response.status_code, response.text[:300])
        assert is_error_shape(response) and response.json()["code"] == "malformed_json", str(op)
        assert "nested" in response.json()["detail"]


def test_modestly_nested_json_is_still_parsed(live_api):
    """The depth limit leaves room for any real body (an order is four levels deep)."""
    address = {"name": "A", "line1": "x", "country": "GB"}
    body = {"orders": [{"external_id": "deep-ok", "currency": "EUR", "shipping_address": address,
                        "lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "1.00"}]}]}
    response = live_api.post(ORDERS + "bulk/", json=body)
    assert response.status_code == 200 and response.json()["results"][0]["status"] == 201


@pytest.mark.parametrize("url", ["/api/v1/nope/", "/api/nope", "/api/v1/orders/1/transitions/pay/extra/",
                                 "/webhooks/nope/"])
def test_an_unknown_api_path_is_a_json_404(live_api, url):
    response = live_api.get(url)
    assert response.status_code == 404
    assert is_error_shape(response) and response.json()["code"] == "not_found"


def test_pages_outside_the_api_keep_djangos_html_404(live_api):
    response = live_api.get("/nope/")
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")


def test_a_disallowed_host_on_an_api_path_is_a_json_400(live_api):
    response = live_api.get(ORDERS, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert is_error_shape(response) and response.json()["code"] == "bad_request"


@pytest.fixture
def failing_view_urls(settings):
    settings.ROOT_URLCONF = "tests.security.urls_with_a_failing_view"


def test_a_server_error_on_an_api_path_is_a_json_500_without_details(live_api, failing_view_urls):
    response = live_api.get("/api/v1/boom/")
    assert response.status_code == 500
    assert is_error_shape(response) and response.json()["code"] == "server_error"
    assert "RuntimeError" not in response.text and "Traceback" not in response.text


def test_the_error_shape_is_json_even_when_the_client_asks_for_html(live_api):
    response = requests.get(live_api.url("/api/v1/nope/"), headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 404 and json.loads(response.text)["code"] == "not_found"
