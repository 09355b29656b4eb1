"""Webhooks through the real URLs (a live server), processed by a real Celery worker on the `channel` queue."""

from decimal import Decimal

import pytest

from channels_integration.models import Channel, InboundMessage
from inventory.models import Reservation, StockLevel
from inventory.selectors import available_to_sell
from orders.models import Order
from tests.channels_integration.conftest import SHOPIFY_SECRET, STOCK, WOO_SECRET
from tests.channels_integration.payloads import encode, fixture, shopify_headers, shopify_order, woo_headers, woo_order
from tests.harness.celery_worker import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_broker]
State = InboundMessage.State


def settled(message_id: int) -> InboundMessage:
    """The message once the worker is done with it."""
    return wait_until(
        lambda: InboundMessage.objects.exclude(state=State.RECEIVED).filter(pk=message_id).first(),
        timeout=30, message=f"inbound message {message_id} to be processed",
    )


def send_shopify(poster, payload, *, topic="orders/create", webhook_id=None, code="shop"):
    body = encode(payload)
    response = poster.shopify(code, body, shopify_headers(SHOPIFY_SECRET, body, topic=topic, webhook_id=webhook_id))
    assert response.status_code == 200, response.text
    return response.json()


def history(order: Order) -> list[tuple[str, str, str]]:
    return list(order.status_changes.order_by("id").values_list("transition", "to_status", "actor"))


def test_a_shopify_order_arrives_once_and_follows_the_store(celery_workers, poster, catalogue, shop):
    celery_workers.start(queues=["channel", "default"])
    big_id = 987654321098765432
    many = [f"IPOD2008{c}" for c in ("GREEN", "RED", "BLACK")] * 20  # 60 lines
    payload = shopify_order(order_id=big_id, skus=many, customer={"first_name": "Zoë", "last_name": "Łódź 山田"},
                            note="Bitte nicht knicken — 壊れ物")
    created = send_shopify(poster, payload, webhook_id="wh-create")
    assert settled(created["message"]).state == State.PROCESSED
    order = Order.objects.get(channel=shop, external_id=str(big_id))
    assert order.status == "new" and order.customer_name == "Zoë Łódź 山田"
    assert order.lines.count() == 60 and order.total == Decimal(payload["total_price"])
    assert available_to_sell(sku_codes=["IPOD2008RED"])["IPOD2008RED"] == STOCK - 20
    assert Reservation.objects.filter(order_id=order.pk, state="active").count() == 60

    # The same delivery again, and the same order under a new delivery id: no second order, nothing applied.
    assert send_shopify(poster, payload, webhook_id="wh-create") == {"ok": True, "duplicate": True}
    again = settled(send_shopify(poster, payload, webhook_id="wh-create-2")["message"])
    assert again.state == State.IGNORED and "no change" in again.error
    assert Order.objects.filter(external_id=str(big_id)).count() == 1

    paid = settled(send_shopify(poster, {**payload, "financial_status": "paid",
                                         "updated_at": "2026-11-20T10:05:00-05:00"}, topic="orders/paid")["message"])
    assert paid.state == State.PROCESSED and paid.order_id == order.pk
    # A cancellation stamped before the payment arrives late: stale, ignored, the order stays paid.
    stale = settled(send_shopify(poster, {**payload, "cancelled_at": "2026-11-20T10:01:00-05:00",
                                          "updated_at": "2026-11-20T10:01:00-05:00"},
                                 topic="orders/cancelled")["message"])
    assert stale.state == State.IGNORED and stale.error.startswith("stale:")
    order.refresh_from_db()
    assert order.status == "paid" and order.payment_reference == "shopify #1001"
    assert history(order) == [("create", "new", "channel:shop"), ("pay", "paid", "channel:shop")]


def test_the_raw_fixture_is_held_because_its_totals_do_not_add_up(celery_workers, poster, catalogue, shop):
    celery_workers.start()
    message = settled(send_shopify(poster, fixture("shopify-order.json"))["message"])
    assert message.state == State.PROCESSED
    order = message.order
    assert order.status == "on_hold"
    assert "totals differ: Shopify says 409.94 USD" in order.hold_reason and "608.94" in order.hold_reason
    assert not Reservation.objects.filter(order_id=order.pk).exists()
    assert history(order) == [("create", "new", "channel:shop"), ("hold", "on_hold", "system")]


def test_a_payment_before_its_order_waits_and_is_applied_once_the_order_exists(celery_workers, poster, catalogue,
                                                                               shop):
    celery_workers.start()
    payload = shopify_order(order_id=123456789012345678)
    paid = settled(send_shopify(poster, {**payload, "financial_status": "paid",
                                         "updated_at": "2026-11-20T10:05:00-05:00"}, topic="orders/paid")["message"])
    assert paid.state == State.DEFERRED and "before the order was created" in paid.error
    assert not Order.objects.exists()

    settled(send_shopify(poster, payload, topic="orders/create")["message"])
    wait_until(lambda: InboundMessage.objects.filter(pk=paid.pk, state=State.PROCESSED).exists(), timeout=30,
               message="the deferred payment to be applied")
    order = Order.objects.get(external_id="123456789012345678")
    assert order.status == "paid"
    assert history(order) == [("create", "new", "channel:shop"), ("pay", "paid", "channel:shop")]


def test_lines_without_or_with_unknown_skus_hold_the_order_instead_of_failing(celery_workers, poster, catalogue,
                                                                             shop, woo):
    celery_workers.start()
    payload = shopify_order(order_id=5, skus=("IPOD2008GREEN", "NOT-IN-INVENTORY", ""), financial_status="paid")
    message = settled(send_shopify(poster, payload)["message"])
    # Paid in Shopify, but the order is held: the payment waits for the hold to be lifted.
    assert message.state == State.DEFERRED and "on hold" in message.error
    order = message.order
    assert order.status == "on_hold"
    assert "unknown SKU(s) NOT-IN-INVENTORY" in order.hold_reason
    assert "line 3 (IPod Nano - 8gb - black) has no SKU in Shopify" in order.hold_reason
    assert list(order.lines.values_list("sku", flat=True)) == ["IPOD2008GREEN", "NOT-IN-INVENTORY", ""]
    assert available_to_sell(sku_codes=["IPOD2008GREEN"])["IPOD2008GREEN"] == STOCK

    body = encode(fixture("woocommerce-order.json"))  # its first line has an empty SKU
    response = poster.woocommerce("woo", body, woo_headers(WOO_SECRET, body))
    held = settled(response.json()["message"])
    assert held.order.status == "on_hold" and "line 1 (Woo Single #1) has no SKU in WooCommerce" in \
        held.order.hold_reason and "map product 93" in held.order.hold_reason


def test_a_woocommerce_order_is_paid_completed_and_its_stock_shipped(celery_workers, poster, catalogue, woo):
    celery_workers.start()
    ping = poster.woocommerce("woo", b"webhook_id=17", {}, content_type="application/x-www-form-urlencoded")
    assert ping.status_code == 200 and not InboundMessage.objects.exists()

    def send(status, modified, topic="order.updated"):
        body = encode(woo_order(order_id=9001, status=status, skus=("WOO-SINGLE", "Bar3"), modified=modified))
        # One webhook per topic in WooCommerce's settings, each with its own id.
        webhook_id = {"order.created": "17", "order.updated": "18"}[topic]
        response = poster.woocommerce("woo", body, woo_headers(WOO_SECRET, body, topic=topic, webhook_id=webhook_id))
        assert response.status_code == 200, response.text
        return settled(response.json()["message"])

    assert send("pending", "2026-11-20T10:00:02", topic="order.created").state == State.PROCESSED
    # Created and paid within WooCommerce's one-second resolution: the equal timestamp still moves it forward.
    assert send("processing", "2026-11-20T10:00:02").state == State.PROCESSED
    assert send("completed", "2026-11-20T11:00:00").state == State.PROCESSED
    order = Order.objects.get(channel=woo, external_id="9001")
    assert order.status == "shipped" and order.tracking_number == "untracked (fulfilled in WooCommerce)"
    assert [t for t, _s, _a in history(order)] == ["create", "pay", "start_fulfilment", "ship"]
    assert available_to_sell(sku_codes=["Bar3"])["Bar3"] == STOCK - 1
    assert set(Reservation.objects.filter(order_id=order.pk).values_list("state", flat=True)) == {"committed"}
    assert StockLevel.objects.get(sku__code="Bar3").on_hand == STOCK - 1


def test_only_the_channel_queue_is_needed_to_process_webhooks(celery_workers, poster, catalogue, shop):
    celery_workers.start(queues=["channel"])
    message = settled(send_shopify(poster, shopify_order(order_id=77))["message"])
    assert message.state == State.PROCESSED and message.order.external_id == "77"


def test_bad_input_gets_a_clear_answer_and_other_messages_are_unaffected(celery_workers, poster, catalogue, shop,
                                                                         settings):
    celery_workers.start()
    body = encode(shopify_order(order_id=1))
    wrong = poster.shopify("shop", body, shopify_headers("not-the-secret", body))
    missing = poster.shopify("shop", body, shopify_headers(SHOPIFY_SECRET, body, signature=""))
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert wrong.json()["code"] == "invalid_signature"
    assert not InboundMessage.objects.exists()
    assert Channel.objects.get(pk=shop.pk).webhook_rejections == 2

    unknown = poster.shopify("no-such-shop", body, shopify_headers(SHOPIFY_SECRET, body))
    wrong_kind = poster.woocommerce("shop", body, woo_headers(SHOPIFY_SECRET, body))
    assert (unknown.status_code, wrong_kind.status_code) == (404, 404) and unknown.json()["code"] == "not_found"

    huge = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    too_big = poster.shopify("shop", huge, shopify_headers(SHOPIFY_SECRET, huge))
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"

    broken = b'{"id": 1, "line_items": ['
    malformed = poster.shopify("shop", broken, shopify_headers(SHOPIFY_SECRET, broken))
    assert malformed.status_code == 200
    stored = InboundMessage.objects.get(pk=malformed.json()["message"])
    assert stored.state == State.FAILED and stored.error.startswith("malformed JSON:")
    assert bytes(stored.body) == broken

    incomplete = settled(send_shopify(poster, {**shopify_order(order_id=2), "line_items": [{"sku": "IPOD2008RED",
                                                                                         "price": "1.00"}]})["message"])
    assert incomplete.state == State.FAILED
    assert incomplete.error == "missing or invalid field line_items[0].quantity: is required"
    fine = settled(send_shopify(poster, shopify_order(order_id=3))["message"])
    assert fine.state == State.PROCESSED
    assert list(Order.objects.values_list("external_id", flat=True)) == ["3"]
