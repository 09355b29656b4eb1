"""Order test data. Orders are only made through the services, so every one has its audit rows and events."""

import itertools

from inventory.services import sku_upsert, stock_receive, warehouse_upsert
from orders.actors import Actor
from orders.fsm import Status
from orders.services import order_ingest, order_transition

_ids = itertools.count(1)

# The transitions that bring a new order to each state (system actor, valid payloads).
PATH_TO = {
    Status.NEW: [],
    Status.PAID: ["pay"],
    Status.FULFILLING: ["pay", "start_fulfilment"],
    Status.SHIPPED: ["pay", "start_fulfilment", "ship"],
    Status.DELIVERED: ["pay", "start_fulfilment", "ship", "deliver"],
    Status.RETURNED: ["pay", "start_fulfilment", "ship", "deliver", "mark_returned"],
    Status.REFUNDED: ["pay", "refund"],
    Status.CANCELLED: ["cancel"],
    Status.ON_HOLD: ["hold"],
}


def stock_skus(*codes: str, quantity: int = 100, warehouse: str = "main") -> None:
    warehouse_upsert(code=warehouse, name=warehouse.title(), priority=10)
    for code in codes:
        sku_upsert(code=code, name=f"Product {code}", actor="test")
        if quantity:
            stock_receive(sku_code=code, warehouse_code=warehouse, quantity=quantity, actor="test")


def order_body(**overrides) -> dict:
    """A valid POST /orders/ body (JSON-native) for SKU-A x2 @ 10.00 + SKU-B x1 @ 5.50: total 25.50 EUR."""
    body = {
        "external_id": f"ext-{next(_ids)}",
        "currency": "EUR",
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "language": "en",
        "shipping_address": {"name": "Ada Lovelace", "line1": "1 Analytical St", "city": "London",
                             "postal_code": "N1 1AA", "country": "GB"},
        "placed_at": "2026-11-20T10:00:00Z",
        "lines": [
            {"sku": "SKU-A", "name": "Widget", "quantity": 2, "unit_price": "10.00"},
            {"sku": "SKU-B", "name": "Gadget", "quantity": 1, "unit_price": "5.50"},
        ],
    }
    body.update(overrides)
    return body


def service_data(body: dict) -> dict:
    """The validated form of a body, as the API serializer hands it to order_ingest."""
    from orders.api.serializers import OrderInSerializer

    serializer = OrderInSerializer(data=body, context={"channel": None})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def payload_for(name: str, order) -> dict:
    return {
        "pay": {"amount": str(order.total), "currency": order.currency, "payment_reference": "pay_123"},
        "ship": {"tracking_number": "TRACK-1", "carrier": "DHL"},
    }.get(name, {"reason": f"test {name}"})


def make_order(channel, status: str = Status.NEW, **overrides):
    result = order_ingest(channel=channel, data=service_data(order_body(**overrides)), actor=Actor.for_channel(channel))
    order = result.order
    for name in PATH_TO[status]:
        order = order_transition(order_id=order.pk, name=name, actor=Actor.system(), payload=payload_for(name, order))
    assert order.status == status
    return order
