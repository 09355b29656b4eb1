"""HTTP clients for the channels' REST APIs (httpx, connect and read timeouts from settings).

`throttled=True` (reconciliation, a long run) waits out rate limits in place: a 429 sleeps its Retry-After and
retries, and Shopify's leaky-bucket header (`X-Shopify-Shop-Api-Call-Limit: 32/40`) slows the run down before the
bucket overflows. The stock push passes `throttled=False` and hands a 429's Retry-After to the sync engine, whose
deliveries carry the retry as data.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from channels_integration.models import Channel, SkuMapping

MAX_THROTTLED_RETRIES = 8
DEFAULT_RETRY_AFTER = 2.0
# Shopify's REST bucket drains this many calls per second on standard plans (Plus drains 20).
SHOPIFY_LEAK_RATE = 2.0
SHOPIFY_BUCKET_HIGH_WATER = 0.8


class ChannelApiError(Exception):
    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Page:
    orders: list[dict]
    next_cursor: str  # "" on the last page
    total: int | None = None  # orders in the whole window, when the channel says


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(connect=settings.CHANNELS_HTTP_CONNECT_TIMEOUT, read=settings.CHANNELS_HTTP_READ_TIMEOUT,
                         write=settings.CHANNELS_HTTP_READ_TIMEOUT, pool=settings.CHANNELS_HTTP_CONNECT_TIMEOUT)


class ChannelClient:
    def __init__(self, channel: Channel, *, sleep=time.sleep):
        if not channel.has_api_credentials:
            raise ChannelApiError(f"channel {channel.code} has no API connection (address and token); add them "
                                  "with create_channel or in admin")
        self.channel = channel
        self.sleep = sleep
        self.http = httpx.Client(base_url=self.base_url(channel), timeout=_timeout(), follow_redirects=False,
                                 **self.auth(channel))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.http.close()

    def base_url(self, channel: Channel) -> str:
        raise NotImplementedError

    def auth(self, channel: Channel) -> dict:
        raise NotImplementedError

    def pace(self, response: httpx.Response) -> None:
        """Called after every throttled call; channels with a visible budget slow down here."""

    def request(self, method: str, url: str, *, throttled: bool, **kwargs) -> httpx.Response:
        if url.startswith("http") and urlsplit(url).netloc != urlsplit(str(self.http.base_url)).netloc:
            # Pagination links come from the far side: never send our token anywhere else.
            raise ChannelApiError(f"refusing to follow {url}: not on {self.http.base_url}")
        for _ in range(MAX_THROTTLED_RETRIES):
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                raise ChannelApiError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
            if not throttled:
                return response
            if response.status_code == 429:
                self.sleep(retry_after_seconds(response) or DEFAULT_RETRY_AFTER)
                continue
            self.pace(response)
            return response
        raise ChannelApiError(f"{method} {url}: still rate limited after {MAX_THROTTLED_RETRIES} tries", 429)

    def get_json(self, url: str, **kwargs) -> tuple[httpx.Response, object]:
        response = self.request("GET", url, throttled=True, **kwargs)
        if response.status_code != 200:
            raise ChannelApiError(f"GET {url} answered {response.status_code}: {response.text[:300]}",
                                  response.status_code)
        try:
            return response, response.json()
        except ValueError as exc:
            raise ChannelApiError(f"GET {url} answered with a body that is not JSON: {exc}") from exc

    def orders_page(self, *, since: datetime, until: datetime, cursor: str) -> Page:
        raise NotImplementedError

    def set_stock(self, mapping: SkuMapping, available: int) -> httpx.Response:
        raise NotImplementedError

    def pages(self, *, since: datetime, until: datetime, cursor: str = "") -> Iterator[Page]:
        while True:
            page = self.orders_page(since=since, until=until, cursor=cursor)
            yield page
            if not page.next_cursor:
                return
            cursor = page.next_cursor


class ShopifyClient(ChannelClient):
    PAGE_SIZE = 250

    def base_url(self, channel):
        return f"{channel.api_base_url}/admin/api/{settings.CHANNELS_SHOPIFY_API_VERSION}/"

    def auth(self, channel):
        return {"headers": {"X-Shopify-Access-Token": channel.api_token}}

    def pace(self, response):
        used, _, capacity = response.headers.get("X-Shopify-Shop-Api-Call-Limit", "").partition("/")
        if used.isdigit() and capacity.isdigit() and int(capacity):
            used, capacity = int(used), int(capacity)
            if used >= capacity * SHOPIFY_BUCKET_HIGH_WATER:
                # Let the bucket drain to half before the next call.
                self.sleep((used - capacity / 2) / SHOPIFY_LEAK_RATE)

    def orders_page(self, *, since, until, cursor):
        if cursor:
            # A page_info cursor carries the filters; Shopify refuses them repeated.
            response, data = self.get_json(cursor)
            total = None
        else:
            window = {"updated_at_min": since.isoformat(), "updated_at_max": until.isoformat(), "status": "any"}
            _, counted = self.get_json("orders/count.json", params=window)
            total = counted.get("count") if isinstance(counted, dict) else None
            response, data = self.get_json("orders.json", params={**window, "limit": self.PAGE_SIZE,
                                                                  "order": "updated_at asc"})
        orders = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(orders, list):
            raise ChannelApiError("Shopify orders.json answered without an `orders` list")
        return Page(orders=orders, next_cursor=response.links.get("next", {}).get("url", ""), total=total)

    def set_stock(self, mapping, available):
        return self.request("POST", "inventory_levels/set.json", throttled=False, json={
            "location_id": mapping.location_id, "inventory_item_id": mapping.inventory_item_id,
            "available": available,
        })


class WooCommerceClient(ChannelClient):
    PAGE_SIZE = 100

    def base_url(self, channel):
        return f"{channel.api_base_url}/wp-json/wc/v3/"

    def auth(self, channel):
        key, _, secret = channel.api_token.partition(":")
        return {"auth": (key, secret)}

    def orders_page(self, *, since, until, cursor):
        page = int(cursor or 1)
        response, data = self.get_json("orders", params={
            "modified_after": since.isoformat(), "modified_before": until.isoformat(), "dates_are_gmt": "true",
            "per_page": self.PAGE_SIZE, "page": page, "orderby": "id", "order": "asc",
        })
        if not isinstance(data, list):
            raise ChannelApiError("WooCommerce /orders answered without a list of orders")
        pages = response.headers.get("X-WP-TotalPages", "")
        total = response.headers.get("X-WP-Total", "")
        more = page < int(pages) if pages.isdigit() else len(data) == self.PAGE_SIZE
        return Page(orders=data, next_cursor=str(page + 1) if more and data else "",
                    total=int(total) if total.isdigit() else None)

    def set_stock(self, mapping, available):
        path = f"products/{mapping.product_id}"
        if mapping.variant_id:
            path += f"/variations/{mapping.variant_id}"
        return self.request("PUT", path, throttled=False, json={"manage_stock": True, "stock_quantity": available})


CLIENTS = {Channel.Kind.SHOPIFY: ShopifyClient, Channel.Kind.WOOCOMMERCE: WooCommerceClient}


def client_for(channel: Channel, **kwargs) -> ChannelClient:
    if channel.kind not in CLIENTS:
        raise ChannelApiError(f"{channel.get_kind_display()} channels have no API to call")
    return CLIENTS[channel.kind](channel, **kwargs)
