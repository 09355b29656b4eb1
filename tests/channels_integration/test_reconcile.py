"""Reconciliation against a local server speaking each channel's REST shape: pagination, rate limits, resume."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from celery import current_app
from django.core.management import CommandError, call_command
from django.utils import timezone

from channels_integration.connectors.clients import ShopifyClient
from channels_integration.connectors.reconcile import channel_reconcile
from channels_integration.connectors.setup import channel_set_up
from channels_integration.models import InboundMessage, Reconciliation
from orders.models import Order
from tests.channels_integration.conftest import SHOPIFY_SECRET, WOO_SECRET
from tests.channels_integration.fake_channels import FakeChannel
from tests.channels_integration.payloads import shopify_order, woo_order
from tests.harness.celery_worker import wait_until

SHOPIFY_TOKEN = "shpat_test_token"
WOO_TOKEN = "ck_test:cs_test"


@pytest.fixture
def fake_shopify():
    fake = FakeChannel("shopify", token=SHOPIFY_TOKEN, page_size=2)
    yield fake
    fake.stop()


@pytest.fixture
def fake_woo():
    fake = FakeChannel("woocommerce", token=WOO_TOKEN, page_size=2)
    yield fake
    fake.stop()


@pytest.fixture
def connected_shop(db, fake_shopify):
    return channel_set_up(code="shop", kind="shopify", currency="USD", webhook_secret=SHOPIFY_SECRET,
                          shop_domain=fake_shopify.url, api_token=SHOPIFY_TOKEN)


@pytest.fixture
def connected_woo(db, fake_woo):
    return channel_set_up(code="woo", kind="woocommerce", currency="USD", webhook_secret=WOO_SECRET,
                          store_url=fake_woo.url, api_token=WOO_TOKEN)


def shopify_orders(count: int, *, hour: int = 10) -> list[dict]:
    return [shopify_order(order_id=1000 + i, updated_at=f"2026-11-20T{hour}:0{i}:00+00:00",
                          financial_status="paid" if i % 2 else "pending") for i in range(count)]


def reconcile(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("channel_reconcile", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_shopify_reconciliation_pages_through_link_cursors_waits_out_429_and_recovers_missed_orders(
        fake_shopify, connected_shop, catalogue):
    fake_shopify.orders = shopify_orders(5)
    fake_shopify.throttle(1)  # the very first call is answered 429 Retry-After

    out, progress = reconcile("shop", "--since", "2026-11-20T09:00:00Z", "--until", "2026-11-20T12:00:00Z")

    assert set(Order.objects.values_list("external_id", flat=True)) == {str(1000 + i) for i in range(5)}
    assert Order.objects.get(external_id="1001").status == "paid"
    paths = [path for _method, path in fake_shopify.requests]
    assert paths[0] == paths[1] and paths[0].startswith("/admin/api/2025-01/orders/count.json")  # retried
    assert sum("page_info=" in p for p in paths) == 2  # 5 orders at 2 a page
    assert "5/5" in progress and "5 processed" in out and "5 ingested" in out

    # Safe to run twice: everything is known at its current updated_at, so nothing is stored or applied.
    messages = InboundMessage.objects.count()
    out, _ = reconcile("shop", "--since", "2026-11-20T09:00:00Z", "--until", "2026-11-20T12:00:00Z")
    assert "none new" in out and InboundMessage.objects.count() == messages
    assert Order.objects.count() == 5


@pytest.mark.django_db
def test_reconciliation_applies_what_changed_since_and_skips_what_webhooks_already_brought(
        fake_woo, connected_woo, catalogue):
    orders = [woo_order(order_id=500 + i, status="pending", skus=("WOO-SINGLE", "Bar3"), date_paid_gmt=None,
                        modified=f"2026-11-20T10:0{i}:00") for i in range(3)]
    fake_woo.orders = orders
    channel_reconcile(channel=connected_woo, since=_utc("2026-11-20T09:00:00"), until=_utc("2026-11-20T11:00:00"))
    assert set(Order.objects.values_list("status", flat=True)) == {"new"}

    # Later the store completes one order; its webhook is lost. The next run (from where the last ended, minus the
    # overlap) finds it and only it.
    fake_woo.orders[1] = {**orders[1], "status": "completed", "date_modified_gmt": "2026-11-20T10:55:00"}
    report = channel_reconcile(channel=connected_woo, until=_utc("2026-11-20T11:30:00"))
    assert report.since == _utc("2026-11-20T10:50:00")  # completed_until 11:00 minus the 10-minute overlap
    assert report.fetched == 1 and report.ingested == 1
    assert Order.objects.get(external_id="501").status == "shipped"
    query = [path for _m, path in fake_woo.requests][-1]
    assert "modified_after=2026-11-20T10%3A50%3A00%2B00%3A00" in query and "per_page=100" in query


@pytest.mark.django_db
def test_a_run_that_stops_midway_resumes_from_its_saved_cursor(fake_shopify, connected_shop, catalogue):
    fake_shopify.orders = shopify_orders(5)
    calls = {"n": 0}
    original = fake_shopify._shopify

    def flaky(method, path, query, body):
        calls["n"] += 1
        if calls["n"] == 3:  # count, page 1, page 2; every try at page 3 is then refused
            fake_shopify.throttle(20, retry_after="0")
        return original(method, path, query, body)

    fake_shopify._shopify = flaky
    with pytest.raises(CommandError, match="still rate limited.*resumes where it stopped"):
        reconcile("shop", "--since", "2026-11-20T09:00:00Z", "--until", "2026-11-20T12:00:00Z")
    state = Reconciliation.objects.get(channel=connected_shop)
    assert "page_info=" in state.cursor and state.completed_until is None and state.lease_expires_at is None
    assert Order.objects.count() == 4  # the two pages read were ingested and stay

    fake_shopify.throttle(0)
    before = len(fake_shopify.requests)
    out, _ = reconcile("shop")
    assert "(resumed)" in out
    assert "page_info=" in fake_shopify.requests[before][1]  # went on from the saved page, not from the start
    assert Order.objects.count() == 5
    state.refresh_from_db()
    assert state.cursor == "" and state.completed_until is not None


@pytest.mark.django_db
def test_shopify_client_slows_down_before_the_leaky_bucket_overflows(fake_shopify, connected_shop):
    slept = []
    fake_shopify.bucket_used = 36
    with ShopifyClient(connected_shop, sleep=slept.append) as client:
        client.get_json("orders/count.json")
    assert slept and slept[0] == pytest.approx((37 - 20) / 2, abs=0.5)


@pytest.mark.django_db
def test_reconcile_command_explains_unknown_channels_and_bad_dates(connected_shop):
    with pytest.raises(CommandError, match="Known channels: shop"):
        reconcile("nope")
    with pytest.raises(CommandError, match="ISO 8601"):
        reconcile("shop", "--since", "last tuesday")
    with pytest.raises(CommandError, match="before --until"):
        reconcile("shop", "--since", "2026-11-21", "--until", "2026-11-20")


@pytest.mark.django_db(transaction=True)
@pytest.mark.needs_broker
def test_the_periodic_run_in_a_worker_recovers_an_order_whose_webhook_was_never_sent(
        celery_workers, fake_shopify, connected_shop, catalogue):
    now = timezone.now()
    fake_shopify.orders = [shopify_order(order_id=4242, updated_at=(now - timedelta(minutes=1)).isoformat())]
    Reconciliation.objects.create(channel=connected_shop, completed_until=now - timedelta(minutes=30),
                                  last_finished_at=now - timedelta(minutes=30))
    celery_workers.start()
    current_app.send_task("channels.reconcile_due")
    order = wait_until(lambda: Order.objects.filter(external_id="4242").first(), timeout=30,
                       message="the reconciled order")
    assert order.channel_id == connected_shop.pk
    assert InboundMessage.objects.get(order=order).source == InboundMessage.Source.RECONCILE


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
