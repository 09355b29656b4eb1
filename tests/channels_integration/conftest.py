import httpx
import pytest

from channels_integration.connectors.setup import channel_set_up
from inventory.services import sku_upsert, stock_receive, warehouse_upsert

SHOPIFY_SECRET = "shpss_test_client_secret"
WOO_SECRET = "woo-webhook-secret"
CATALOGUE = ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK", "Bar3", "WOO-SINGLE")
STOCK = 50


@pytest.fixture
def catalogue(db):
    """The fixtures' SKUs, STOCK units each in one warehouse."""
    warehouse_upsert(code="main", name="Main", priority=1)
    for code in CATALOGUE:
        sku_upsert(code=code, name=code, actor="user:tester")
        stock_receive(sku_code=code, warehouse_code="main", quantity=STOCK, actor="test")


@pytest.fixture
def shop(db):
    return channel_set_up(code="shop", kind="shopify", currency="USD", webhook_secret=SHOPIFY_SECRET)


@pytest.fixture
def woo(db):
    return channel_set_up(code="woo", kind="woocommerce", currency="USD", webhook_secret=WOO_SECRET)


class Poster:
    """Posts raw bytes to the running server, as a channel would."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def shopify(self, code: str, body: bytes, headers: dict) -> httpx.Response:
        return self.http.post(f"/webhooks/shopify/{code}/", content=body,
                              headers={"Content-Type": "application/json", **headers})

    def woocommerce(self, code: str, body: bytes, headers: dict, content_type="application/json") -> httpx.Response:
        return self.http.post(f"/webhooks/woocommerce/{code}/", content=body,
                              headers={"Content-Type": content_type, **headers})


@pytest.fixture
def poster(live_server):
    poster = Poster(live_server.url)
    yield poster
    poster.http.close()
