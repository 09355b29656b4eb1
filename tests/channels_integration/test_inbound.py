"""Inbound processing rules that need no worker: deferral, holds lifted, the sweeper, re-processing by command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from channels_integration.connectors.inbound import inbound_process, inbound_receive, inbound_sweep
from channels_integration.connectors.payload import Identity
from channels_integration.models import InboundMessage
from inventory.services import sku_upsert, stock_receive
from orders.actors import Actor
from orders.models import Order
from orders.services import order_transition
from tests.channels_integration.payloads import encode, fixture, shopify_order

pytestmark = pytest.mark.django_db
State = InboundMessage.State


def receive(channel, payload, *, key, topic="orders/create") -> InboundMessage:
    return inbound_receive(channel=channel, identity=Identity(topic=topic, dedupe_key=key), headers={},
                           body=encode(payload))


def test_a_paid_order_held_for_an_unknown_sku_is_paid_once_the_hold_is_lifted(shop, catalogue, admin_user):
    message = receive(shop, shopify_order(order_id=9, skus=("NEW-SKU",), financial_status="paid"), key="a")
    assert inbound_process(message_id=message.pk) == State.DEFERRED
    order = Order.objects.get(external_id="9")
    assert order.status == "on_hold"
    assert inbound_sweep() == 0  # nothing changed yet: it keeps waiting

    sku_upsert(code="NEW-SKU", name="New", actor="user:tester")
    stock_receive(sku_code="NEW-SKU", warehouse_code="main", quantity=5, actor="test")
    order_transition(order_id=order.pk, name="release_hold", actor=Actor.for_user(admin_user))
    InboundMessage.objects.filter(pk=message.pk).update(processed_at=timezone.now() - timedelta(seconds=1))
    assert inbound_sweep() == 1
    assert inbound_process(message_id=message.pk) == State.PROCESSED
    order.refresh_from_db()
    assert order.status == "paid"
    assert list(order.status_changes.values_list("transition", flat=True)) == ["create", "hold", "release_hold",
                                                                               "pay"]


def test_the_sweeper_resends_a_message_whose_task_was_lost(shop, catalogue):
    message = receive(shop, shopify_order(order_id=10), key="b")
    assert inbound_sweep() == 0  # its task was just sent
    InboundMessage.objects.filter(pk=message.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
    assert inbound_sweep() == 1
    assert InboundMessage.objects.get(pk=message.pk).queued_at > timezone.now() - timedelta(seconds=5)


def test_refunds_and_deletions(shop, woo, catalogue):
    paid = shopify_order(financial_status="paid", total_price="209.00")
    paid["line_items"] = paid["line_items"][:1]
    paid.update(total_discounts="0.00", total_tax="10.00")
    assert inbound_process(message_id=receive(shop, paid, key="c").pk) == State.PROCESSED
    refund = fixture("shopify-refund.json")  # 209.00 refunded: the whole order
    assert inbound_process(message_id=receive(shop, refund, key="d", topic="refunds/create").pk) == State.PROCESSED
    assert Order.objects.get(external_id="450789469").status == "refunded"

    partial = {"refund": {**refund["refund"], "order_id": 1, "transactions": [
        {"kind": "refund", "status": "success", "amount": "1.00"}]}}
    other = shopify_order(order_id=1)
    inbound_process(message_id=receive(shop, other, key="e").pk)
    message = receive(shop, partial, key="f", topic="refunds/create")
    assert inbound_process(message_id=message.pk) == State.IGNORED
    assert "partial refund of 1.00" in InboundMessage.objects.get(pk=message.pk).error

    unhandled = receive(shop, {"id": 1}, key="g", topic="products/update")
    assert inbound_process(message_id=unhandled.pk) == State.IGNORED
    assert "topic 'products/update' is not handled" in InboundMessage.objects.get(pk=unhandled.pk).error


def test_a_channel_contradicting_our_history_fails_with_the_reason(shop, catalogue, admin_user):
    inbound_process(message_id=receive(shop, shopify_order(order_id=11), key="h").pk)
    order = Order.objects.get(external_id="11")
    order_transition(order_id=order.pk, name="cancel", actor=Actor.for_user(admin_user),
                     payload={"reason": "fraud check"})
    late = receive(shop, shopify_order(order_id=11, financial_status="paid", updated_at="2026-11-20T11:00:00-05:00"),
                   key="i", topic="orders/paid")
    assert inbound_process(message_id=late.pk) == State.FAILED
    assert "Shopify reports the order paid, but it is cancelled here (fraud check)" in \
        InboundMessage.objects.get(pk=late.pk).error


def test_inbound_reprocess_command_processes_failed_messages_with_a_progress_bar(shop, catalogue):
    for i in range(3):
        inbound_process(message_id=receive(shop, {**shopify_order(order_id=20 + i), "currency": None},
                                           key=f"r-{i}").pk)
    InboundMessage.objects.update(body=encode(shopify_order(order_id=20)))  # the cause, fixed
    out, err = StringIO(), StringIO()
    call_command("inbound_reprocess", "--channel", "shop", "--state", "failed", stdout=out, stderr=err)
    assert "3 message(s) re-processed: 2 ignored, 1 processed" in out.getvalue()
    assert "3/3" in err.getvalue()
    assert not InboundMessage.objects.filter(state=State.FAILED).exists()
    with pytest.raises(CommandError, match="Known channels: shop"):
        call_command("inbound_reprocess", "--channel", "nope")
