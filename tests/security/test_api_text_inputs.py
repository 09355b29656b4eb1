"""Control characters and NUL bytes in every text input are 400 `invalid_characters`, nothing written.

"Every text input" is taken from valid bodies: each string anywhere in a valid body of each write operation is
replaced in turn, so a field added to a body is covered by adding it to the sample. The signed channel webhooks
(raw bodies the API guard leaves alone, tests/ordersync/test_api_input_guard.py) are checked the same way.
"""

import base64
import hashlib
import hmac
import json

import pytest
import requests

from channels_integration.connectors.setup import channel_set_up
from channels_integration.models import InboundMessage
from inventory.models import Sku, StockMovement
from orders.models import Order, OrderStatusChange
from tests.harness.celery_worker import wait_until
from tests.harness.live_api import api_operations, assert_error
from tests.orders.factories import order_body

BAD = ["a\x00b", "\x00", "x\x1b[31my", "\x07", "z\x7f", "\x85"]


def _bodies(order) -> dict[str, dict]:
    """A valid body for each write operation (by template; transitions by name)."""
    return {
        "POST /api/v1/orders/": order_body(),
        "POST /api/v1/orders/bulk/": {"orders": [order_body()]},
        "POST pay": {"amount": str(order.total), "currency": order.currency, "payment_reference": "pay_1"},
        "POST hold": {"reason": "address check"},
        "PUT /api/v1/skus/{code}/": {"name": "Widget", "track_inventory": True},
        "PUT /api/v1/stock/{sku}/": {"warehouse": "main", "on_hand": 5, "reason": "count"},
    }


def _string_paths(value, path=()):
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_paths(item, (*path, index))


def _replaced(body, path, text):
    copy = json.loads(json.dumps(body))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = text
    return copy


def _written(order) -> tuple:
    order.refresh_from_db()
    return (Order.objects.count(), OrderStatusChange.objects.count(), StockMovement.objects.count(),
            order.status, list(Sku.objects.values_list("code", "name").order_by("code")))


def test_every_write_operation_has_a_sample_body(live_api):
    with_body = {str(op) for op in api_operations(live_api, {"id": "1", "name": "hold", "code": "A", "sku": "A"})
                 if op.has_body}
    samples = {key for key in _bodies(live_api.order) if "/" in key} | {"POST /api/v1/orders/{id}/transitions/{name}/"}
    # sku-mappings take only numeric ids: no text input to poison.
    assert with_body - {"PUT /api/v1/sku-mappings/{sku}/"} == samples


@pytest.mark.parametrize("text", BAD, ids=repr)
def test_a_control_character_in_any_text_field_of_any_body_is_400_and_writes_nothing(live_api, text):
    order = live_api.order
    urls = {"POST /api/v1/orders/": "/api/v1/orders/", "POST /api/v1/orders/bulk/": "/api/v1/orders/bulk/",
            "POST pay": f"/api/v1/orders/{order.pk}/transitions/pay/",
            "POST hold": f"/api/v1/orders/{order.pk}/transitions/hold/",
            "PUT /api/v1/skus/{code}/": "/api/v1/skus/SKU-A/", "PUT /api/v1/stock/{sku}/": "/api/v1/stock/SKU-A/"}
    before = _written(order)
    fields = 0
    for key, body in _bodies(order).items():
        method = key.split()[0]
        for path in _string_paths(body):
            response = live_api.request(method, urls[key], json=_replaced(body, path, text))
            where = f"{key} {'.'.join(map(str, path))}"
            assert response.status_code == 400, (where, response.status_code, response.text[:200])
            assert_error(response, 400, "invalid_characters")
            fields += 1
    assert fields >= 20
    assert _written(order) == before


SECRET = "text-input-webhook-secret"


@pytest.mark.django_db(transaction=True)
@pytest.mark.needs_broker
@pytest.mark.parametrize("text", ["a\x00b", "x\x1by"], ids=repr)
def test_a_signed_shopify_webhook_with_a_control_character_is_kept_and_fails_with_a_reason(live_server,
                                                                                         celery_workers, text):
    """A signed delivery is the shop's word: answering 400 would only make Shopify re-send it for two days. It is
    stored as received and its processing fails with a reason; no order carries the character."""
    celery_workers.start(queues=["channel", "default"])
    channel = channel_set_up(code="shop-text", kind="shopify", currency="EUR", webhook_secret=SECRET)
    payload = {"id": 4242, "name": "#1", "currency": "EUR", "email": "a@example.com",
               "customer": {"first_name": text, "last_name": "Customer"},
               "line_items": [{"id": 1, "sku": "SKU-A", "name": "Widget", "quantity": 1, "price": "10.00"}]}
    body = json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    response = requests.post(f"{live_server.url}/webhooks/shopify/{channel.code}/", data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": "text-1"})
    assert response.status_code == 200, (response.status_code, response.text[:300])
    message = wait_until(lambda: InboundMessage.objects.exclude(state=InboundMessage.State.RECEIVED).first(),
                         timeout=60, message="the webhook to be processed")
    assert message.state == InboundMessage.State.FAILED, (message.state, message.error)
    assert "customer.first_name" in message.error and "control character" in message.error
    assert not Order.objects.filter(channel=channel).exists()
