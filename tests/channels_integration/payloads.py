"""The real Shopify and WooCommerce payloads (tests/fixtures/channels, copied verbatim from the project's
../shared/fixtures/channels so a clone anywhere runs the suite) and variants built from them, plus signing as
Shopify and WooCommerce sign."""

import base64
import copy
import hashlib
import hmac
import json
import uuid
from decimal import Decimal
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def shopify_headers(secret: str, body: bytes, *, topic: str = "orders/create", webhook_id: str | None = None,
                    signature: str | None = None) -> dict:
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "demo.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-20T10:00:00.000Z",
        "X-Shopify-Hmac-Sha256": sign(secret, body) if signature is None else signature,
    }
    return {k: v for k, v in headers.items() if v != ""}


def woo_headers(secret: str, body: bytes, *, topic: str = "order.created", webhook_id: str = "17",
                signature: str | None = None) -> dict:
    resource, _, event = topic.partition(".")
    headers = {
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-ID": webhook_id,
        "X-WC-Webhook-Delivery-ID": str(uuid.uuid4()),
        "X-WC-Webhook-Signature": sign(secret, body) if signature is None else signature,
    }
    return {k: v for k, v in headers.items() if v != ""}


def shopify_order(*, order_id: int = 450789469, skus=("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"),
                  financial_status: str = "pending", updated_at: str = "2026-11-20T10:00:00-05:00",
                  **overrides) -> dict:
    """The shared Shopify order with consistent totals (the fixture's own do not add up: 3 x 199 is not 398)."""
    order = copy.deepcopy(fixture("shopify-order.json"))
    order["line_items"] = [{**order["line_items"][i % 3], "id": 466157049 + i, "sku": sku}
                           for i, sku in enumerate(skus)]
    lines = sum(Decimal(item["price"]) * item["quantity"] for item in order["line_items"])
    order.update(id=order_id, financial_status=financial_status, updated_at=updated_at,
                 created_at="2026-11-20T09:59:00-05:00", total_discounts="10.00",
                 subtotal_price=str(lines - 10), total_line_items_price=str(lines), fulfillments=[])
    order["total_price"] = str(lines - 10 + Decimal(order["total_tax"]))
    order.update(overrides)
    return order


def woo_order(*, order_id: int = 727, status: str = "processing", skus=("", "Bar3"),
              modified: str = "2026-11-20T10:00:08", **overrides) -> dict:
    """The shared WooCommerce order; `skus` gives each line's SKU ("" = none, as the fixture's first line)."""
    order = copy.deepcopy(fixture("woocommerce-order.json"))
    base = order["line_items"]
    order.update(id=order_id, number=str(order_id), status=status, date_modified_gmt=modified,
                 date_created_gmt="2026-11-20T10:00:02")
    order["line_items"] = [{**base[i % 2], "id": 315 + i, "sku": sku} for i, sku in enumerate(skus)]
    subtotal = sum(Decimal(item["subtotal"]) for item in order["line_items"])
    order["total"] = str(subtotal + Decimal(order["shipping_total"]) + Decimal(order["total_tax"])
                         - Decimal(order["discount_total"]))
    order.update(overrides)
    return order
