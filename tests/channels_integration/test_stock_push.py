"""The stock feed out: a burst of changes to one SKU reaches each channel's inventory API as a few pushes that
end on the true available-to-sell, through the sync engine's handler deliveries in a real worker."""

import math
import time

import pytest
from django.db.models import F

from channels_integration.connectors.setup import channel_set_up
from channels_integration.connectors.stock import stock_endpoint_name
from channels_integration.models import SkuMapping
from channels_integration.services import sku_mapping_upsert
from inventory.models import StockLevel
from inventory.selectors import available_to_sell
from inventory.services import sku_upsert, stock_adjust, stock_receive, warehouse_upsert
from sync.models import Delivery, Endpoint
from tests.channels_integration.conftest import SHOPIFY_SECRET
from tests.channels_integration.fake_channels import FakeChannel
from tests.harness.celery_worker import wait_until
from tests.threads import run_concurrently

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_broker]
CHANGES = 1000
THREADS = 8


@pytest.fixture
def fakes():
    shopify = FakeChannel("shopify", token="shpat_x")
    woo = FakeChannel("woocommerce", token="ck_x:cs_y")
    yield shopify, woo
    shopify.stop()
    woo.stop()


def settled(endpoints) -> bool:
    dirty = StockLevel.objects.filter(version__gt=F("published_version")).exists()
    open_ = Delivery.objects.filter(endpoint__in=endpoints, state__in=["pending", "in_flight"]).exists()
    return not dirty and not open_


def test_a_burst_of_1000_changes_to_one_sku_becomes_a_few_pushes_ending_on_the_true_value(celery_workers, fakes,
                                                                                         settings):
    shopify, woo = fakes
    shop = channel_set_up(code="shop", kind="shopify", webhook_secret=SHOPIFY_SECRET, shop_domain=shopify.url,
                          api_token="shpat_x")
    store = channel_set_up(code="woo", kind="woocommerce", store_url=woo.url, api_token="ck_x:cs_y")
    warehouse_upsert(code="main", name="Main")
    sku_upsert(code="HOT", name="Hot item", safety_stock=3, actor="user:tester")
    stock_receive(sku_code="HOT", warehouse_code="main", quantity=5000, actor="test")
    sku_mapping_upsert(channel=shop, sku_code="HOT", inventory_item_id=808950810, location_id=905684977)
    sku_mapping_upsert(channel=store, sku_code="HOT", product_id=22, variant_id=23)
    endpoints = list(Endpoint.objects.filter(name__in=[stock_endpoint_name(shop), stock_endpoint_name(store)]))
    assert [e.handler for e in endpoints] == ["channels.stock_push"] * 2
    celery_workers.start(pool="threads", concurrency=4)
    wait_until(lambda: settled(endpoints), timeout=60, message="the initial stock to be pushed")
    before = (len(shopify.stock_sets), len(woo.stock_sets))

    def burst(n):
        def run():
            for k in range(CHANGES // THREADS):
                stock_adjust(sku_code="HOT", warehouse_code="main", delta=-1 if (n + k) % 3 else 2,
                             reason="burst", actor="test")
        return run

    started = time.monotonic()
    results = run_concurrently([burst(n) for n in range(THREADS)])
    burst_seconds = time.monotonic() - started
    assert [r for kind, r in results if kind == "error"] == []
    truth = available_to_sell(sku_codes=["HOT"])["HOT"]
    assert truth != 5000 - 3

    wait_until(lambda: settled(endpoints), timeout=120, message="the burst's deliveries to finish")
    shop_pushes = shopify.stock_sets[before[0]:]
    woo_pushes = woo.stock_sets[before[1]:]
    assert shop_pushes[-1] == {"location_id": 905684977, "inventory_item_id": 808950810, "available": truth}
    assert woo_pushes[-1] == {"product_id": 22, "variation_id": 23, "manage_stock": True, "stock_quantity": truth}
    # At most one push per SKU and channel per CHANNELS_STOCK_PUSH_MIN_INTERVAL while the burst lasts, plus the
    # one that carries the final value.
    bound = math.ceil(burst_seconds / settings.CHANNELS_STOCK_PUSH_MIN_INTERVAL) + 2
    print(f"{CHANGES} changes in {burst_seconds:.1f}s: {len(shop_pushes)} Shopify and {len(woo_pushes)} "
          f"WooCommerce pushes; {Delivery.objects.filter(endpoint__in=endpoints).count()} deliveries")
    assert 1 <= len(shop_pushes) <= bound and 1 <= len(woo_pushes) <= bound
    assert SkuMapping.objects.get(channel=shop).last_pushed_available == truth
