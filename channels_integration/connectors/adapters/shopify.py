"""Shopify: webhook identity, order and refund payloads → the canonical order (docs/CHANNELS.md has the table).

Every orders/* webhook carries the whole order as it stands at `updated_at`, so each one is applied as a state:
created, paid, cancelled, fulfilled and refunded are read from the same fields whatever the topic.
"""

from decimal import Decimal

from channels_integration.connectors.payload import (
    ChannelLine,
    ChannelOrder,
    ChannelState,
    Identity,
    PayloadError,
    Refund,
    address,
    body_digest,
    channel_id,
    joined,
    language,
    line_items,
    money,
    optional_id,
    required,
    text,
    timestamp,
)

NAME = "Shopify"
SIGNATURE_HEADER = "x-shopify-hmac-sha256"
ORDER_TOPICS = {"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
                "orders/partially_fulfilled"}
CREATE_TOPICS = {"orders/create"}
REFUND_TOPICS = {"refunds/create"}
DELETE_TOPICS: set[str] = set()  # orders/delete only removes archived orders in Shopify: nothing to do here
PAID = {"paid", "partially_refunded", "refunded"}
FAILED_FULFILMENT = {"failure", "error", "cancelled"}


def unwrap(payload: dict, key: str) -> dict:
    """Webhooks send the resource itself; the REST API wraps it ({"order": {...}}). Accept both."""
    inner = payload.get(key) if isinstance(payload, dict) else None
    return inner if isinstance(inner, dict) else payload


def identify(headers: dict, payload, body: bytes) -> Identity:
    topic = headers.get("x-shopify-topic", "")
    external_id = ""
    if isinstance(payload, dict):
        resource = unwrap(payload, "refund" if topic in REFUND_TOPICS else "order")
        raw = resource.get("order_id") if topic in REFUND_TOPICS else resource.get("id")
        external_id = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    return Identity(
        topic=topic,
        dedupe_key=headers.get("x-shopify-webhook-id") or body_digest(body),
        external_id=external_id[:100],
        event_id=headers.get("x-shopify-event-id", "")[:100],
        triggered_at=headers.get("x-shopify-triggered-at", "")[:64],
    )


def _address(a) -> dict:
    if not isinstance(a, dict):
        return {}
    return address(name=a.get("name") or joined(a.get("first_name"), a.get("last_name")), company=a.get("company"),
                   line1=a.get("address1"), line2=a.get("address2"), city=a.get("city"), postal_code=a.get("zip"),
                   region=a.get("province_code") or a.get("province"), country=a.get("country_code"),
                   phone=a.get("phone"))


def _shipping(order: dict) -> Decimal:
    """What the customer pays for shipping after shipping discounts."""
    total = order.get("total_shipping_price_set")
    if isinstance(total, dict) and isinstance(total.get("shop_money"), dict):
        return money(total["shop_money"].get("amount"), "total_shipping_price_set.shop_money.amount")
    amount = Decimal(0)
    for i, line in enumerate(order.get("shipping_lines") or []):
        value = line.get("discounted_price", line.get("price")) if isinstance(line, dict) else None
        amount += money(value, f"shipping_lines[{i}].price")
    return amount


def _line(where: str, item: dict, count: int) -> ChannelLine:
    return ChannelLine(
        sku=text(item.get("sku"), 64),
        name=text(item.get("name") or item.get("title"), 200),
        quantity=count,
        unit_price=money(item.get("price"), f"{where}.price", required_=True),
        product_id=optional_id(item.get("product_id")),
        variant_id=optional_id(item.get("variant_id")),
    )


def _tracking(order: dict) -> tuple[str, str]:
    for fulfilment in reversed(order.get("fulfillments") or []):
        if isinstance(fulfilment, dict) and fulfilment.get("status") not in FAILED_FULFILMENT:
            number = text(fulfilment.get("tracking_number"), 100)
            if number:
                return number, text(fulfilment.get("tracking_company"), 100)
    return "", ""


def _reason(order: dict) -> str:
    if order.get("cancelled_at") is not None:
        return f"cancelled in Shopify ({order['cancel_reason']})" if order.get("cancel_reason") \
            else "cancelled in Shopify"
    return "refunded in Shopify"


def _state(order: dict) -> ChannelState:
    financial = order.get("financial_status") or ""
    tracking, carrier = _tracking(order)
    return ChannelState(
        paid=financial in PAID,
        refunded=financial == "refunded",
        cancelled=order.get("cancelled_at") is not None,
        fulfilled=order.get("fulfillment_status") == "fulfilled",
        reason=_reason(order),
        payment_reference=text(f"shopify {order.get('name') or order.get('id')}", 100),
        tracking_number=tracking,
        carrier=carrier or "Shopify",
    )


def order_from(payload) -> ChannelOrder:
    if not isinstance(payload, dict):
        raise PayloadError("order", "the body must be a JSON object")
    order = unwrap(payload, "order")
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    billing, shipping = _address(order.get("billing_address")), _address(order.get("shipping_address"))
    updated = timestamp(required(order, "updated_at"), "updated_at")
    return ChannelOrder(
        external_id=channel_id(required(order, "id"), "id"),
        source_updated_at=updated,
        currency=text(required(order, "currency"), 3).upper(),
        placed_at=timestamp(order.get("processed_at") or order.get("created_at") or updated.isoformat(),
                            "created_at"),
        lines=line_items(order, _line),
        state=_state(order),
        channel_total=money(order.get("total_price"), "total_price") if order.get("total_price") is not None
        else None,
        shipping_total=_shipping(order),
        # With taxes included in the prices the tax is part of the line prices already.
        tax_total=Decimal(0) if order.get("taxes_included") else money(order.get("total_tax"), "total_tax"),
        discount_total=money(order.get("total_discounts"), "total_discounts"),
        customer_name=joined(customer.get("first_name"), customer.get("last_name"))
        or billing.get("name") or shipping.get("name", ""),
        customer_email=text(order.get("email") or order.get("contact_email") or customer.get("email"), 254),
        customer_phone=text(order.get("phone") or customer.get("phone") or billing.get("phone"), 40),
        language=language(order.get("customer_locale")),
        shipping_address=shipping,
        billing_address=billing,
    )


def refund_from(payload) -> Refund:
    if not isinstance(payload, dict):
        raise PayloadError("refund", "the body must be a JSON object")
    refund = unwrap(payload, "refund")
    amount = Decimal(0)
    for i, transaction in enumerate(refund.get("transactions") or []):
        if isinstance(transaction, dict) and transaction.get("kind") == "refund" \
                and transaction.get("status") == "success":
            amount += money(transaction.get("amount"), f"transactions[{i}].amount")
    return Refund(external_id=channel_id(required(refund, "order_id"), "order_id"), amount=amount,
                  reason=text(f"refunded in Shopify: {refund['note']}" if refund.get("note")
                              else "refunded in Shopify", 500))
