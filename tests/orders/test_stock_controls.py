"""The orders side of the per-channel stock levers: expiry of held orders is audited, zero-price holds, caps and
restrictions on every path that reserves, and the default reservation TTL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import ChannelAllocation, Reservation, StockLevel
from inventory.services import allocation_set
from orders.actors import Actor
from orders.errors import InsufficientStockError, InvalidOrder, UnknownSkuError
from orders.fsm import Status
from orders.models import OrderStatusChange
from orders.services import order_expire_due, order_ingest, order_ingest_bulk, order_transition
from orders.services.ingest import ZERO_PRICE_HOLD, order_data_clean, reservation_expiry
from sync.models import Event
from tests.factories import ChannelFactory
from tests.orders.factories import make_order, order_body, service_data

pytestmark = pytest.mark.django_db

FREE_LINES = [{"sku": "SKU-A", "name": "Sample", "quantity": 3, "unit_price": "0.00"}]


def ingest(channel, **overrides):
    return order_ingest(channel=channel, data=service_data(order_body(**overrides)), actor=Actor.for_channel(channel))


def reserved(code: str) -> int:
    return StockLevel.objects.get(sku__code=code).reserved


def test_a_held_order_whose_reservation_expired_gives_stock_back_with_audit_and_event(skus):
    channel = ChannelFactory(reservation_ttl=timedelta(minutes=15))
    held = make_order(channel, Status.ON_HOLD)
    Reservation.objects.filter(order_id=held.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert order_expire_due() == []

    held.refresh_from_db()
    assert held.status == Status.ON_HOLD
    assert reserved("SKU-A") == 0
    change = OrderStatusChange.objects.filter(order=held).latest("id")
    assert (change.from_status, change.to_status, change.transition, change.actor, change.reason, change.payload) == (
        "on_hold", "on_hold", "release_expired_stock", "system", "reservation expired", {"units_released": 3},
    )
    event = Event.objects.filter(order_id=held.pk).latest("sequence")
    assert event.topic == "order.stock_released"
    assert event.payload["transition"] == {"name": "release_expired_stock", "actor": "system",
                                           "reason": "reservation expired"}
    assert order_expire_due() == []  # nothing left to release: no second audit row
    assert OrderStatusChange.objects.filter(order=held, transition="release_expired_stock").count() == 1


def test_a_zero_price_hold_reserves_when_released_and_obeys_the_channels_cap(skus):
    channel = ChannelFactory()
    order = ingest(channel, lines=FREE_LINES).order
    assert (order.status, order.hold_reason, reserved("SKU-A")) == (Status.ON_HOLD, ZERO_PRICE_HOLD, 0)

    allocation_set(channel=channel, sku_code="SKU-A", cap=2, actor="user:op")
    with pytest.raises(InsufficientStockError):
        order_transition(order_id=order.pk, name="release_hold", actor=Actor.system())
    allocation_set(channel=channel, sku_code="SKU-A", cap=3, actor="user:op")
    released = order_transition(order_id=order.pk, name="release_hold", actor=Actor.system())

    assert released.status == Status.NEW
    assert reserved("SKU-A") == 3 == ChannelAllocation.objects.get(channel=channel).reserved
    reservation = Reservation.objects.filter(order_id=order.pk).get()
    assert reservation.channel_id == channel.pk and reservation.expires_at is not None  # the default TTL


def test_zero_price_orders_in_bulk_are_checked_and_held_like_single_ones(skus):
    channel = ChannelFactory()
    items = [service_data(order_body(external_id="free", lines=FREE_LINES)),
             service_data(order_body(external_id="ghost", lines=[{**FREE_LINES[0], "sku": "GHOST-1"}])),
             service_data(order_body(external_id="paid"))]
    results = order_ingest_bulk(channel=channel, items=items, actor=Actor.for_channel(channel))

    assert results[0].result.order.status == Status.ON_HOLD
    assert results[0].result.order.hold_reason == ZERO_PRICE_HOLD
    assert isinstance(results[1].error, UnknownSkuError)
    assert results[2].result.order.status == Status.NEW
    assert not Reservation.objects.filter(order_id=results[0].result.order.pk).exists()
    assert OrderStatusChange.objects.filter(order=results[0].result.order, transition="hold").get().payload == {
        "rule": "zero_price"
    }


def test_bulk_ingest_respects_caps_and_restrictions(skus):
    channel = ChannelFactory(insufficient_stock_policy="reject")
    allocation_set(channel=channel, sku_code="SKU-A", cap=5, actor="user:op")
    lines = [{"sku": "SKU-A", "name": "W", "quantity": 2, "unit_price": "1.00"}]
    items = [service_data(order_body(external_id=f"b-{i}", lines=lines)) for i in range(4)]
    results = order_ingest_bulk(channel=channel, items=items, actor=Actor.for_channel(channel))
    assert [r.error.code if r.error else r.result.order.status for r in results] == [
        "new", "new", "insufficient_stock", "insufficient_stock",
    ]
    assert ChannelAllocation.objects.get().reserved == 4 == reserved("SKU-A")


def test_adapters_are_held_to_the_sku_code_pattern(channel):
    data = service_data(order_body())
    data["lines"][0]["sku"] = "SKU A\u200b"
    with pytest.raises(InvalidOrder, match=r"lines\[0\].sku: not a valid SKU code"):
        order_data_clean(data, channel=channel)


def test_the_default_ttl_applies_only_where_the_channel_sets_none(settings):
    now = timezone.now()
    settings.ORDERS_DEFAULT_RESERVATION_TTL = timedelta(hours=2)
    assert reservation_expiry(ChannelFactory(), now=now) == now + timedelta(hours=2)
    assert reservation_expiry(ChannelFactory(reservation_ttl=timedelta(minutes=5)), now=now) == now + timedelta(
        minutes=5)
    settings.ORDERS_DEFAULT_RESERVATION_TTL = timedelta(0)
    assert reservation_expiry(ChannelFactory(), now=now) is None
