"""OWASP API3 (mass assignment) and API5 (function level authorization), over real HTTP.

Fields a client must not set (status, totals, prices it did not send, channel, id, payment data) are ignored or
refused on every write, never stored. A key without an operation's scope gets 403 `permission_denied` whatever
its body is: the scope is checked before the body is read, on every operation of the URL conf.
"""

from decimal import Decimal

import pytest
from django.urls import resolve

from channels_integration.models import SkuMapping
from channels_integration.scopes import ALL_SCOPES
from orders.fsm import TRANSITIONS
from orders.models import Order
from tests.factories import ChannelFactory
from tests.harness.live_api import api_operations, assert_error
from tests.orders.factories import order_body

# Server-owned fields of an order, each with a value an attacker would like.
FORGED = {"id": 987654, "status": "paid", "total": "0.01", "subtotal": "0.01", "channel": "FORGED",
          "payment_reference": "forged", "paid_amount": "25.50", "created_at": "2020-01-01T00:00:00Z",
          "version": 99}
FORGED_LINE = {"line_total": "0.01", "id": 5}


def _refused_or_ignored(response, created_status: int = 201) -> dict | None:
    """400 naming a field, or the write succeeded; returns the created order's JSON, or None if refused."""
    assert response.status_code in (400, created_status), response.text[:300]
    if response.status_code == 400:
        assert response.json()["code"] == "invalid"
        return None
    return response.json()


def _assert_server_values(live_api, data: dict | None, external_id: str):
    orders = Order.objects.filter(external_id=external_id)
    if data is None:
        assert not orders.exists()
        return
    order = orders.get()
    assert (order.channel_id, order.status, order.total) == (live_api.channel.pk, "new", Decimal("25.50"))
    assert order.pk != FORGED["id"] and order.payment_reference != "forged"
    assert order.created_at.year >= 2026
    assert sorted(line.line_total for line in order.lines.all()) == [Decimal("5.50"), Decimal("20.00")]
    assert (data["status"], data["total"], data["channel"]) == ("new", "25.50", live_api.channel.code)


def test_create_ignores_or_refuses_server_owned_fields(live_api):
    body = order_body(**FORGED)
    body["lines"][0].update(FORGED_LINE)
    data = _refused_or_ignored(live_api.post("/api/v1/orders/", body))
    _assert_server_values(live_api, data, body["external_id"])


def test_bulk_ignores_or_refuses_server_owned_fields(live_api):
    body = order_body(**FORGED)
    body["lines"][0].update(FORGED_LINE)
    response = live_api.post("/api/v1/orders/bulk/", {"orders": [body]})
    assert response.status_code == 200, response.text[:300]
    result = response.json()["results"][0]
    assert result["status"] in (201, 400), result
    _assert_server_values(live_api, result["body"] if result["status"] == 201 else None, body["external_id"])


@pytest.mark.parametrize("name", ["hold", "cancel"])
def test_a_transition_body_cannot_set_status_or_money(live_api, name):
    order = live_api.order
    response = live_api.post(f"/api/v1/orders/{order.pk}/transitions/{name}/", {"reason": "why", **FORGED})
    assert response.status_code in (200, 400), response.text[:300]
    order.refresh_from_db()
    expected = {"hold": "on_hold", "cancel": "cancelled"}[name] if response.status_code == 200 else "new"
    assert (order.status, order.total, order.channel_id) == (expected, Decimal("25.50"), live_api.channel.pk)
    assert order.payment_reference != "forged"


def test_a_sku_mapping_cannot_be_written_for_another_channel(make_live_api):
    other = ChannelFactory(kind="woocommerce", currency="EUR")
    api = make_live_api(channel=ChannelFactory(kind="woocommerce", currency="EUR"))
    response = api.put("/api/v1/sku-mappings/SKU-A/", {"product_id": 5, "channel": other.code,
                                                        "channel_id": other.pk, "last_pushed_available": 0})
    assert response.status_code in (200, 201, 400), response.text[:300]
    assert not SkuMapping.objects.filter(channel=other).exists()
    mine = SkuMapping.objects.filter(channel=api.channel).first()
    assert mine is None or mine.last_pushed_available is None


# --- function level: the scope comes before the body ----------------------------------------------------------

INVALID_BODIES = [b"{not json", b'{"orders": 7, "lines": "x", "reason": ["x"], "amount": 25.5, "on_hand": "x"}',
                  b"[]"]


def _required_scopes(op, transition: str) -> set[str]:
    view = resolve(op.path).func.view_class
    if "{name}" in op.template:
        scope = TRANSITIONS[transition].scope
        return {scope} if scope else set(ALL_SCOPES)  # a system-only transition: no key may run it
    required = view.required_scopes
    scopes = set(required.get(op.method.upper(), []) if isinstance(required, dict) else required)
    assert scopes, f"{op}: {view.__name__} declares no required scope"
    return scopes


def test_a_key_without_the_scope_is_refused_before_its_body_is_read_on_every_operation(live_api, make_live_api):
    checked = set()
    for name in TRANSITIONS:
        samples = {"id": str(live_api.order.pk), "name": name, "code": "SKU-A", "sku": "SKU-A"}
        for op in api_operations(live_api, samples):
            if name != "hold" and "{name}" not in op.template:
                continue
            lacking = [s for s in ALL_SCOPES if s not in _required_scopes(op, name)]
            api = make_live_api(channel=live_api.channel, scopes=lacking or ["orders:read"])
            for body in INVALID_BODIES if op.has_body else [None]:
                kwargs = {"data": body, "headers": {"Content-Type": "application/json"}} if body else {}
                assert_error(api.request(op.method, op.path, **kwargs), 403, "permission_denied")
            checked.add(op.path)
    assert len(checked) >= 10 + len(TRANSITIONS)
    live_api.order.refresh_from_db()
    assert live_api.order.status == "new"
