"""WooCommerce (REST API v3 shape): webhook identity and order payloads → the canonical order.

WooCommerce has only order.created / order.updated / order.deleted / order.restored; payment, cancellation,
completion and refunds are all order.updated with another `status`.
"""

from decimal import Decimal

from channels_integration.connectors.payload import (
    ChannelLine,
    ChannelOrder,
    ChannelState,
    Identity,
    PayloadError,
    address,
    body_digest,
    channel_id,
    joined,
    line_items,
    money,
    optional_id,
    required,
    text,
    timestamp,
)
from orders.money import quantize

NAME = "WooCommerce"
SIGNATURE_HEADER = "x-wc-webhook-signature"
ORDER_TOPICS = {"order.created", "order.updated", "order.restored"}
CREATE_TOPICS = {"order.created", "order.restored"}
REFUND_TOPICS: set[str] = set()
DELETE_TOPICS = {"order.deleted"}
# status → (paid, fulfilled, cancelled, refunded); a status not listed (a plugin's own) counts as paid when
# WooCommerce recorded a payment date.
UNPAID = (False, False, False, False)
STATUSES = {
    "pending": UNPAID,
    "on-hold": UNPAID,
    "failed": UNPAID,
    "checkout-draft": UNPAID,
    "processing": (True, False, False, False),
    "completed": (True, True, False, False),
    "cancelled": (False, False, True, False),
    "trash": (False, False, True, False),
    "refunded": (True, False, False, True),
}


def identify(headers: dict, payload, body: bytes) -> Identity:
    """WooCommerce's delivery id is new on every try, so a delivery is known by webhook, resource and version.

    `date_modified_gmt` has one-second resolution: two changes within a second carry the same one, so a digest
    of the body tells them apart (a retry sends the same body and is still a replay).
    """
    resource = modified = ""
    if isinstance(payload, dict):
        raw = payload.get("id")
        resource = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
        modified = str(payload.get("date_modified_gmt") or "")
    webhook = headers.get("x-wc-webhook-id", "")
    key = ":".join([webhook or "-", resource or "-", modified or "-", body_digest(body)[7:23]])
    return Identity(topic=headers.get("x-wc-webhook-topic", ""), dedupe_key=key[:200], external_id=resource[:100],
                    event_id=headers.get("x-wc-webhook-delivery-id", "")[:100])


def _address(a) -> dict:
    if not isinstance(a, dict):
        return {}
    return address(name=joined(a.get("first_name"), a.get("last_name")), company=a.get("company"),
                   line1=a.get("address_1"), line2=a.get("address_2"), city=a.get("city"),
                   postal_code=a.get("postcode"), region=a.get("state"), country=a.get("country"),
                   phone=a.get("phone"))


def _line_of(currency: str):
    def line(where: str, item: dict, count: int) -> ChannelLine:
        # `subtotal` is the line before coupons, excluding tax, as a string; `price` is a float.
        subtotal = money(item.get("subtotal"), f"{where}.subtotal", required_=True)
        return ChannelLine(
            sku=text(item.get("sku"), 64),
            name=text(item.get("name"), 200),
            quantity=count,
            unit_price=quantize(subtotal / count, currency),
            product_id=optional_id(item.get("product_id")),
            variant_id=optional_id(item.get("variation_id")),
        )

    return line


def _fees(order: dict) -> tuple[Decimal, Decimal]:
    """(surcharges, discounts) from fee lines: positive fees are charged with shipping, negative ones discount."""
    charges = discounts = Decimal(0)
    for i, fee in enumerate(order.get("fee_lines") or []):
        amount = money(fee.get("total") if isinstance(fee, dict) else None, f"fee_lines[{i}].total")
        if amount >= 0:
            charges += amount
        else:
            discounts -= amount
    return charges, discounts


def _state(order: dict) -> ChannelState:
    status = order.get("status") or ""
    paid, fulfilled, cancelled, refunded = STATUSES.get(status, (bool(order.get("date_paid_gmt")), False, False,
                                                                  False))
    reference = order.get("transaction_id") or f"woocommerce #{order.get('number') or order.get('id')}"
    return ChannelState(paid=paid, fulfilled=fulfilled, cancelled=cancelled, refunded=refunded,
                        reason=f"{status} in WooCommerce", payment_reference=text(reference, 100),
                        tracking_number="", carrier="WooCommerce")


def order_from(payload) -> ChannelOrder:
    if not isinstance(payload, dict):
        raise PayloadError("order", "the body must be a JSON object")
    currency = text(required(payload, "currency"), 3).upper()
    billing = payload.get("billing") if isinstance(payload.get("billing"), dict) else {}
    modified = timestamp(required(payload, "date_modified_gmt"), "date_modified_gmt", assume_utc=True)
    created = payload.get("date_created_gmt")
    charges, fee_discounts = _fees(payload)
    billing_address, shipping_address = _address(billing), _address(payload.get("shipping"))
    return ChannelOrder(
        external_id=channel_id(required(payload, "id"), "id"),
        source_updated_at=modified,
        currency=currency,
        placed_at=timestamp(created, "date_created_gmt", assume_utc=True) if created else modified,
        lines=line_items(payload, _line_of(currency)),
        state=_state(payload),
        channel_total=money(payload.get("total"), "total") if payload.get("total") is not None else None,
        shipping_total=money(payload.get("shipping_total"), "shipping_total") + charges,
        tax_total=money(payload.get("total_tax"), "total_tax"),
        discount_total=money(payload.get("discount_total"), "discount_total") + fee_discounts,
        customer_name=billing_address.get("name") or shipping_address.get("name") or billing_address.get("company", ""),
        customer_email=text(billing.get("email"), 254),
        customer_phone=text(billing.get("phone"), 40),
        shipping_address=shipping_address,
        billing_address=billing_address,
    )


def deleted_from(payload) -> str:
    if not isinstance(payload, dict):
        raise PayloadError("id", "the body must be a JSON object with the order id")
    return channel_id(required(payload, "id"), "id")
