"""Flash sale: 1,000 one-unit orders for one SKU with 100 units, sent at once by 48 client threads over HTTP from
three channels — the REST API, Shopify webhooks and WooCommerce webhooks. Exactly 100 units end up reserved; every
other order is refused with a clear code or reason, whichever way its channel says: the REST channel rejects (409
`insufficient_stock`), Shopify's orders are stored on hold ("insufficient stock: FLASH"), WooCommerce's are
refused in processing (the inbound message fails with the reason). No answer is a 5xx."""

import itertools
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from channels_integration.models import InboundMessage
from inventory.models import Reservation, StockLevel
from orders.models import Order
from tests.factories import ChannelFactory
from tests.harness.celery_worker import wait_until
from tests.orders.factories import order_body, stock_skus
from tests.resilience.channels import Webhooks
from tests.resilience.conftest import WORKER_ENV, make_shop, settled, subscribe
from tests.resilience.invariants import check_invariants

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]

UNITS, ORDERS, THREADS = 100, 1_000, 48
SKU = "FLASH"
# How many of the 1,000 orders each channel sends.
SPLIT = {"rest": 500, "shopify": 300, "woo": 200}


def test_flash_sale_of_1000_orders_over_three_channels_sells_exactly_the_100_units(
        http_server, celery_workers, web_servers):
    stock_skus(SKU, quantity=UNITS)
    subscribe(http_server, "/pay")
    celery_workers.start(env=WORKER_ENV, pool="prefork", concurrency=2)
    celery_workers.start_beat(env=WORKER_ENV)
    web = web_servers(processes=2, threads=8)
    shop = make_shop(web.base, channel=ChannelFactory(currency="EUR", insufficient_stock_policy="reject"))
    hooks = Webhooks(web.base, shopify_policy="hold", woo_policy="reject")
    line = {"sku": SKU, "name": "Flash deal", "quantity": 1, "unit_price": "9.99"}
    ids = itertools.count(1)
    sends = ([("rest", i) for i in range(SPLIT["rest"])] + [("shopify", i) for i in range(SPLIT["shopify"])]
             + [("woo", i) for i in range(SPLIT["woo"])])
    random.Random(12).shuffle(sends)  # the channels interleave

    def send(item):
        channel, i = item
        if channel == "rest":
            # A connection the web reset is sent again with the same external id, as integrators do (safe: a
            # replay of a stored order answers 200 with it).
            return channel, shop.post("/api/v1/orders/", order_body(external_id=f"flash-{i}", lines=[line]),
                                      retry_until=time.monotonic() + 60)
        if channel == "shopify":
            return channel, hooks.shopify_order(7_000_000 + i, sku=SKU, webhook_id=f"sh-{next(ids)}")
        return channel, hooks.woo_order(9_000 + i, sku=SKU)

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(send, sends))
    sent = time.monotonic()
    assert len(answers) == ORDERS
    rest = [r for c, r in answers if c == "rest"]
    webhooks = [r for c, r in answers if c != "rest"]
    assert not any(isinstance(k, int) and k >= 500 for k in shop.answers + hooks.answers), (shop.answers,
                                                                                             hooks.answers)
    assert all(r.status_code == 200 and r.json()["ok"] for r in webhooks), hooks.answers
    refused = [r for r in rest if r.status_code == 409]
    assert all(r.json()["code"] == "insufficient_stock" and "FLASH" in r.json()["detail"] for r in refused)
    assert len(refused) + sum(r.status_code in (200, 201) for r in rest) == SPLIT["rest"], shop.answers
    wait_until(settled, timeout=120, interval=0.5, message="every webhook processed and every event delivered")
    timings = f"sent in {sent - started:.0f} s, settled {time.monotonic() - sent:.0f} s later"

    level = StockLevel.objects.get(sku__code=SKU)
    assert (level.on_hand, level.reserved) == (UNITS, UNITS)
    holding = set(Reservation.objects.filter(state="active").values_list("order_id", flat=True))
    assert len(holding) == UNITS, "100 orders hold one unit each"
    # WooCommerce's fixture status is "processing" (paid); the others are unpaid.
    assert set(Order.objects.filter(status__in=["new", "paid"]).values_list("pk", flat=True)) == holding
    held = Order.objects.filter(status="on_hold", channel=hooks.shopify)
    assert all(o.hold_reason == f"insufficient stock: {SKU}" for o in held)
    woo_refused = InboundMessage.objects.filter(channel=hooks.woo, state="failed")
    assert all(f"Not enough stock for {SKU}" in m.error for m in woo_refused)
    assert InboundMessage.objects.filter(state="processed").count() + woo_refused.count() == len(webhooks)
    # Every one of the 1,000 is either one of the 100 sold or refused in its channel's way: none lost, none twice.
    assert len(holding) + len(refused) + held.count() + woo_refused.count() == ORDERS
    assert Order.objects.count() == len(holding) + held.count()
    report = check_invariants(receivers=[http_server])
    by_channel = {name: Order.objects.filter(pk__in=holding, channel=channel).count()
                  for name, channel in (("rest", shop.channel), ("shopify", hooks.shopify), ("woo", hooks.woo))}
    print(f"sold {by_channel}; refused: rest 409 {len(refused)}, shopify held {held.count()}, "
          f"woo failed {woo_refused.count()}; answers rest {dict(shop.answers)} webhooks {dict(hooks.answers)}; "
          f"{timings}; {report}")
