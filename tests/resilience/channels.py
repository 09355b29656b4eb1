"""Shopify and WooCommerce as they call the live web: signed webhooks (tests/channels_integration/payloads.py, built
from the real fixtures) posted over HTTP from many threads, each answer kept for the test to judge."""

import threading
import time
from collections import Counter
from decimal import Decimal

import requests

from channels_integration.connectors.setup import channel_set_up
from tests.channels_integration.payloads import encode, shopify_headers, shopify_order, woo_headers, woo_order

SHOPIFY_SECRET = "shpss_resilience_secret"
WOO_SECRET = "woo-resilience-secret"
RETRIES = 5


def one_unit_woo_order(*, order_id: int, sku: str, **overrides) -> dict:
    """The WooCommerce fixture's one-unit line (its other line is two units), with totals that add up."""
    order = woo_order(order_id=order_id, skus=("", sku), **overrides)
    order["line_items"] = order["line_items"][1:]
    order["total"] = str(Decimal(order["line_items"][0]["subtotal"]) + Decimal(order["shipping_total"])
                         + Decimal(order["total_tax"]) - Decimal(order["discount_total"]))
    return order


class Webhooks:
    """One Shopify and one WooCommerce channel posting to the web at `base_url`."""

    def __init__(self, base_url: str, *, shopify_policy: str = "hold", woo_policy: str = "hold"):
        self.base_url = base_url
        self.shopify = channel_set_up(code="shop", kind="shopify", currency="USD", webhook_secret=SHOPIFY_SECRET,
                                      insufficient_stock_policy=shopify_policy)
        self.woo = channel_set_up(code="woo", kind="woocommerce", currency="USD", webhook_secret=WOO_SECRET,
                                  insufficient_stock_policy=woo_policy)
        self.answers: Counter = Counter()
        self._local = threading.local()
        self._lock = threading.Lock()

    def _post(self, path: str, body: bytes, headers: dict) -> requests.Response:
        """A connection error is retried with the very same delivery (same ids), as the shops retry; 5xx are not."""
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        for attempt in range(RETRIES + 1):
            try:
                response = self._local.session.post(self.base_url + path, data=body, timeout=30,
                                                    headers={"Content-Type": "application/json", **headers})
            except requests.ConnectionError as exc:
                self._count(f"error:{type(exc).__name__}")
                if attempt == RETRIES:
                    raise
                time.sleep(0.2)
                continue
            self._count(response.status_code)
            return response
        raise AssertionError("unreachable")

    def _count(self, key) -> None:
        with self._lock:
            self.answers[key] += 1

    def shopify_order(self, order_id: int, *, sku: str, topic: str = "orders/create", webhook_id: str | None = None,
                      **fields) -> requests.Response:
        body = encode(shopify_order(order_id=order_id, skus=(sku,), **fields))
        return self._post("/webhooks/shopify/shop/", body,
                          shopify_headers(SHOPIFY_SECRET, body, topic=topic, webhook_id=webhook_id))

    def woo_order(self, order_id: int, *, sku: str, topic: str = "order.created", webhook_id: str = "17",
                  **fields) -> requests.Response:
        body = encode(one_unit_woo_order(order_id=order_id, sku=sku, **fields))
        return self._post("/webhooks/woocommerce/woo/", body,
                          woo_headers(WOO_SECRET, body, topic=topic, webhook_id=webhook_id))
