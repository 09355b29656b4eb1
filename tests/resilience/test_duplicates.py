"""Channels repeat themselves and arrive out of order: the same webhook resent (also concurrently), an update that
arrives before its create, and the same REST order sent by two clients at once. One order each, no effect twice."""

import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest

from channels_integration.models import InboundMessage
from inventory.models import Reservation, StockLevel
from orders.models import Order
from tests.harness.celery_worker import wait_until
from tests.orders.factories import order_body
from tests.resilience.channels import Webhooks
from tests.resilience.conftest import WORKER_ENV, make_shop, settled, subscribe
from tests.resilience.invariants import check_invariants
from tests.resilience.web import Shop

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]

ROUNDS = 20
SKU = "SKU-A"  # 10,000 units (`stocked`)


def together(*calls):
    """Runs the calls in threads released by one barrier, so their requests reach the web at the same moment."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def history(order_id: int) -> list[str]:
    return list(Order.objects.get(pk=order_id).status_changes.order_by("id").values_list("transition", flat=True))


def test_resent_and_out_of_order_webhooks_and_a_rest_order_from_two_clients_make_one_order_each(
        http_server, celery_workers, web_servers, stocked):
    subscribe(http_server, "/pay", "/stock")
    celery_workers.start(env=WORKER_ENV, pool="prefork", concurrency=2)
    celery_workers.start_beat(env=WORKER_ENV)
    web = web_servers()
    first = make_shop(web.base)
    second = Shop(web.base, first.key)  # a second client of the same integration (another host, same key)
    hooks = Webhooks(web.base)

    for i in range(ROUNDS):
        # Shopify resends one delivery (same X-Shopify-Webhook-Id) three times at once, and once more later.
        resent = together(*[lambda i=i: hooks.shopify_order(100 + i, sku=SKU, webhook_id=f"create-{i}")] * 3)
        resent.append(hooks.shopify_order(100 + i, sku=SKU, webhook_id=f"create-{i}"))
        assert all(r.status_code == 200 for r in resent), [r.text for r in resent]
        assert sum(not r.json().get("duplicate") for r in resent) == 1, [r.json() for r in resent]
        # The payment's webhook overtakes its order's create: it waits (deferred) and is applied after it.
        paid = hooks.shopify_order(200 + i, sku=SKU, topic="orders/paid", financial_status="paid",
                                   updated_at="2026-11-20T10:05:00-05:00")
        created = hooks.shopify_order(200 + i, sku=SKU)
        # WooCommerce: an update (processing = paid) before its create (pending), the create resent.
        woo_paid = hooks.woo_order(300 + i, sku=SKU, status="processing", topic="order.updated", webhook_id="18",
                                   modified="2026-11-20T10:00:09")
        woo_created = [hooks.woo_order(300 + i, sku=SKU, status="pending", modified="2026-11-20T10:00:02")
                       for _ in range(2)]
        assert all(r.status_code == 200 for r in (paid, created, woo_paid, *woo_created))
        # The same REST order from two clients at once, with the same Idempotency-Key and external id.
        body = order_body(external_id=f"twice-{i}")
        key = {"Idempotency-Key": f"idem-{i}"}
        both = together(*[partial(client._session().post, web.base + "/api/v1/orders/", json=body, headers=key,
                                  timeout=30) for client in (first, second)])
        assert sorted(r.status_code for r in both) in ([200, 201], [201, 201]), [r.text[:200] for r in both]
        assert len({r.json()["id"] for r in both}) == 1, "both clients got the one order"
        # And the same external id from two clients without a key: one order, the other answer is its replay.
        plain = order_body(external_id=f"plain-{i}")
        both = together(partial(first.post, "/api/v1/orders/", plain), partial(second.post, "/api/v1/orders/", plain))
        assert sorted(r.status_code for r in both) == [200, 201], [r.text[:200] for r in both]
        assert len({r.json()["id"] for r in both}) == 1

    wait_until(settled, timeout=90, interval=0.3, message="every webhook processed, every event delivered")
    shopify = Order.objects.filter(channel=hooks.shopify)
    woo = Order.objects.filter(channel=hooks.woo)
    rest = Order.objects.filter(channel=first.channel)
    assert (shopify.count(), woo.count(), rest.count()) == (2 * ROUNDS, ROUNDS, 2 * ROUNDS)
    for i in range(ROUNDS):
        assert history(shopify.get(external_id=str(100 + i)).pk) == ["create"]
        assert history(shopify.get(external_id=str(200 + i)).pk) == ["create", "pay"]
        assert history(woo.get(external_id=str(300 + i)).pk) == ["create", "pay"]
    # Shopify: 4 deliveries of each resent create were stored once (3 refused at the door as duplicates).
    assert InboundMessage.objects.filter(channel=hooks.shopify).count() == 3 * ROUNDS
    # WooCommerce: the update and one create stored; the identical create resent was refused at the door.
    assert InboundMessage.objects.filter(channel=hooks.woo).count() == 2 * ROUNDS
    # Each order reserved its units once: SKU-A x1 per webhook order, x2 per REST order.
    units = Reservation.objects.filter(state="active", stock_level__sku__code=SKU).values_list("quantity", flat=True)
    assert sum(units) == 3 * ROUNDS * 1 + 2 * ROUNDS * 2
    assert StockLevel.objects.get(sku__code=SKU).reserved == sum(units)
    assert not any(isinstance(k, int) and k >= 500 for k in first.answers + second.answers + hooks.answers)
    report = check_invariants(receivers=[http_server])
    print(f"answers rest {dict(first.answers + second.answers)}, webhooks {dict(hooks.answers)}; {report}")
