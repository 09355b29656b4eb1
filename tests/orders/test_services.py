"""order_ingest and the stock side effects of transitions, against the real inventory services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Reservation, StockLevel
from orders.actors import Actor
from orders.errors import ExternalIdConflict, InsufficientStockError, InvalidOrder, UnknownSkuError
from orders.fsm import Status
from orders.models import Order, OrderLine, OrderStatusChange
from orders.services import order_expire_due, order_ingest, order_transition
from orders.tasks import expire_unpaid_orders
from sync.models import Event
from tests.factories import ChannelFactory
from tests.orders.factories import make_order, order_body, service_data, stock_skus


def ingest(channel, **overrides):
    return order_ingest(channel=channel, data=service_data(order_body(**overrides)), actor=Actor.for_channel(channel))


def reserved(code: str) -> int:
    return StockLevel.objects.get(sku__code=code).reserved


def on_hand(code: str) -> int:
    return StockLevel.objects.get(sku__code=code).on_hand


def nothing_stored():
    return not Order.objects.exists() and not OrderLine.objects.exists() and not Event.objects.exists() \
        and not Reservation.objects.exists()


def test_ingest_creates_order_lines_reservation_audit_and_event(channel, skus):
    result = ingest(channel, external_id="A-1")
    order = result.order
    assert result.created
    assert (order.status, order.subtotal, order.total, order.currency) == (Status.NEW, 25.5, 25.5, "EUR")
    assert [(line.sku, line.quantity, line.line_total) for line in order.lines.all()] == [
        ("SKU-A", 2, 20), ("SKU-B", 1, 5.5)
    ]
    assert (reserved("SKU-A"), reserved("SKU-B")) == (2, 1)
    change = OrderStatusChange.objects.get(order=order)
    assert (change.from_status, change.to_status, change.transition, change.actor) == (
        "", "new", "create", f"channel:{channel.code}"
    )
    event = Event.objects.get(order_id=order.pk)
    assert event.topic == "order.created"
    assert event.payload["total"] == "25.50" and event.payload["lines"][0]["sku"] == "SKU-A"


def test_same_body_twice_is_one_order(channel, skus):
    first = ingest(channel, external_id="A-1")
    body = order_body(external_id="A-1")
    # Same order, different spelling: key order and "10.0" vs "10.00" do not make it a different body.
    body["lines"][0]["unit_price"] = "10.0"
    again = order_ingest(channel=channel, data=service_data(dict(reversed(body.items()))), actor=Actor.system())
    assert not again.created and again.order.pk == first.order.pk
    assert Order.objects.count() == 1 and reserved("SKU-A") == 2


def test_same_external_id_with_different_body_is_a_conflict(channel, skus):
    ingest(channel, external_id="A-1")
    with pytest.raises(ExternalIdConflict) as exc:
        ingest(channel, external_id="A-1", customer_name="Someone Else")
    assert exc.value.status_code == 409 and exc.value.code == "duplicate_external_id"
    assert Order.objects.count() == 1


def test_external_id_is_unique_per_channel_only(channel, skus):
    ingest(channel, external_id="A-1")
    assert ingest(ChannelFactory(), external_id="A-1").created


def test_unknown_sku_names_the_skus_and_stores_nothing(channel, skus):
    lines = [{"sku": "NOPE-2", "quantity": 1, "unit_price": "1.00"}, {"sku": "NOPE-1", "quantity": 1,
                                                                     "unit_price": "1.00"}]
    with pytest.raises(UnknownSkuError) as exc:
        ingest(channel, lines=lines)
    assert exc.value.status_code == 400 and exc.value.extra["skus"] == ["NOPE-1", "NOPE-2"]
    assert nothing_stored()


def test_insufficient_stock_with_reject_policy_is_409_and_stores_nothing(skus):
    channel = ChannelFactory(insufficient_stock_policy="reject")
    with pytest.raises(InsufficientStockError) as exc:
        ingest(channel, lines=[{"sku": "SKU-A", "quantity": 101, "unit_price": "1.00"}])
    assert exc.value.extra["skus"] == ["SKU-A"]
    assert exc.value.extra["shortages"] == [{"sku": "SKU-A", "requested": 101, "available": 100}]
    assert nothing_stored() and reserved("SKU-A") == 0


def test_insufficient_stock_with_hold_policy_stores_the_order_on_hold(channel, skus):
    order = ingest(channel, lines=[{"sku": "SKU-A", "quantity": 101, "unit_price": "1.00"}]).order
    assert order.status == Status.ON_HOLD and order.hold_reason == "insufficient stock: SKU-A"
    assert reserved("SKU-A") == 0
    assert list(OrderStatusChange.objects.filter(order=order).values_list("transition", "to_status")) == [
        ("create", "new"), ("hold", "on_hold")
    ]
    assert list(Event.objects.filter(order_id=order.pk).order_by("sequence").values_list("topic", flat=True)) == [
        "order.created", "order.on_hold"
    ]


def test_lifting_a_stock_hold_reserves_or_refuses(channel, skus):
    order = ingest(channel, lines=[{"sku": "SKU-A", "quantity": 150, "unit_price": "1.00"}]).order
    with pytest.raises(InsufficientStockError):
        order_transition(order_id=order.pk, name="release_hold", actor=Actor.system())
    assert Order.objects.get(pk=order.pk).status == Status.ON_HOLD
    stock_skus("SKU-A", quantity=50)
    released = order_transition(order_id=order.pk, name="release_hold", actor=Actor.system())
    assert released.status == Status.NEW and reserved("SKU-A") == 150


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "XXX"}, "currency"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "SKU-A", "quantity": 0, "unit_price": "1"}]}, "lines[0]"),
        ({"lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "1.001"}]}, "lines[0].unit_price"),
        ({"currency": "JPY", "lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "1.5"}]}, "lines[0].unit_price"),
        ({"shipping_total": "-1"}, "shipping_total"),
        ({"discount_total": "100"}, "discount_total"),
        ({"total": "99.99"}, "total"),
        ({"lines": [{"sku": "SKU-A", "quantity": 1_000_000, "unit_price": "99999999999.99"}]}, "lines"),
    ],
)
def test_service_validates_whatever_the_caller(channel, skus, overrides, field):
    data = {**order_body(), **overrides, "placed_at": timezone.now()}
    with pytest.raises(InvalidOrder) as exc:
        order_ingest(channel=channel, data=data, actor=Actor.system())
    assert exc.value.extra["field"] == field
    assert nothing_stored()


def test_three_decimal_currency_keeps_its_precision(channel, skus):
    order = ingest(channel, currency="KWD", lines=[{"sku": "SKU-A", "quantity": 3, "unit_price": "1.125"}]).order
    assert str(order.total) == "3.375"


def test_pay_confirms_ship_commits_cancel_releases(skus):
    channel = ChannelFactory(reservation_ttl=timedelta(minutes=30))
    order = make_order(channel, Status.NEW)
    assert Reservation.objects.filter(order_id=order.pk, expires_at__isnull=False).count() == 2
    make_order(channel, Status.PAID, external_id="paid")
    paid = Order.objects.get(external_id="paid")
    assert not Reservation.objects.filter(order_id=paid.pk, expires_at__isnull=False).exists()

    shipped = make_order(channel, Status.SHIPPED, external_id="shipped")
    assert shipped.tracking_number == "TRACK-1" and shipped.carrier == "DHL"
    assert on_hand("SKU-A") == 98  # committed: 2 units left the building
    cancelled = order_transition(order_id=order.pk, name="cancel", actor=Actor.system(), payload={"reason": "x"})
    assert cancelled.cancel_reason == "x"
    assert reserved("SKU-A") == 2  # only the paid order still holds stock


def test_refund_after_shipping_leaves_stock_alone(channel, skus):
    order = make_order(channel, Status.DELIVERED)
    order_transition(order_id=order.pk, name="refund", actor=Actor.system(), payload={"reason": "damaged"})
    assert (on_hand("SKU-A"), reserved("SKU-A")) == (98, 0)


def test_refund_before_shipping_releases_stock(channel, skus):
    order = make_order(channel, Status.PAID)
    order_transition(order_id=order.pk, name="refund", actor=Actor.system(), payload={"reason": "changed mind"})
    assert (on_hand("SKU-A"), reserved("SKU-A")) == (100, 0)


def test_status_changes_are_append_only(channel, skus):
    change = OrderStatusChange.objects.get(order=make_order(channel))
    change.reason = "rewritten"
    with pytest.raises(Exception, match="append-only"):
        change.save()
    with pytest.raises(Exception, match="append-only"):
        change.delete()


def test_expiry_task_cancels_unpaid_orders_whose_reservation_ran_out(skus):
    channel = ChannelFactory(reservation_ttl=timedelta(minutes=15))
    stale = make_order(channel, Status.NEW, external_id="stale")
    fresh = make_order(channel, Status.NEW, external_id="fresh")
    held = make_order(channel, Status.ON_HOLD, external_id="held")
    past = timezone.now() - timedelta(seconds=1)
    Reservation.objects.filter(order_id__in=[stale.pk, held.pk]).update(expires_at=past)

    assert expire_unpaid_orders() == 1
    stale.refresh_from_db()
    assert stale.status == Status.CANCELLED and stale.cancel_reason == "reservation expired"
    change = OrderStatusChange.objects.filter(order=stale).latest("id")
    assert (change.transition, change.actor, change.reason) == ("expire", "system", "reservation expired")
    assert Event.objects.filter(order_id=stale.pk).latest("sequence").topic == "order.cancelled"
    assert Order.objects.get(pk=fresh.pk).status == Status.NEW
    assert Order.objects.get(pk=held.pk).status == Status.ON_HOLD
    # Both expired reservations gave their stock back; only the fresh order still holds stock.
    assert reserved("SKU-A") == 2
    assert order_expire_due() == []  # running again finds nothing to do
