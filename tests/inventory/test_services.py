from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Reservation, Sku, SkuChange, StockLevel, StockMovement
from inventory.selectors import available_to_sell, expired_reservation_order_ids, order_has_active_reservation
from inventory.services import (
    BelowReserved,
    InsufficientStock,
    InvalidQuantity,
    LineRequest,
    UnknownSku,
    UnknownWarehouse,
    sku_upsert,
    stock_adjust,
    stock_commit,
    stock_receive,
    stock_release,
    stock_reservation_confirm,
    stock_reserve,
    warehouse_upsert,
)
from tests.factories import ChannelFactory
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock
from tests.inventory.helpers import assert_no_drift, level

pytestmark = pytest.mark.django_db


def test_reserve_prefers_one_warehouse_by_priority_and_splits_only_when_none_suffices(sku):
    near = WarehouseFactory(code="near", priority=1)
    far = WarehouseFactory(code="far", priority=50)
    farther = WarehouseFactory(code="farther", priority=90)
    stock(sku, far, 4)
    stock(sku, near, 3)
    stock(sku, farther, 11)

    first = stock_reserve(order_id=1, lines=[LineRequest(11, sku.code, 2)], actor="test")
    whole = stock_reserve(order_id=2, lines=[LineRequest(21, sku.code, 4)], actor="test")
    split = stock_reserve(order_id=3, lines=[LineRequest(31, sku.code, 9), LineRequest(32, sku.code, 3)], actor="t")

    assert [(r.stock_level.warehouse.code, r.quantity) for r in first] == [("near", 2)]
    assert [(r.stock_level.warehouse.code, r.quantity) for r in whole] == [("far", 4)]  # near has only 1 left
    # 12 units: no warehouse has them all, so they are split in priority order.
    assert sorted((r.order_line_id, r.stock_level.warehouse.code, r.quantity) for r in split) == [
        (31, "farther", 8), (31, "near", 1), (32, "farther", 3)
    ]
    assert level(sku, near) == (3, 3)
    assert level(sku, far) == (4, 4)
    assert level(sku, farther) == (11, 11)
    assert order_has_active_reservation(order_id=1)
    assert_no_drift()


def test_inactive_warehouses_are_not_reserved_from(sku):
    closed = WarehouseFactory(code="closed", priority=1, active=False)
    stock(sku, closed, 10)
    with pytest.raises(InsufficientStock) as exc:
        stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 1)], actor="test")
    assert exc.value.shortages == [{"sku": sku.code, "requested": 1, "available": 0}]


def test_multi_line_reserve_is_all_or_nothing(warehouse):
    a, b = SkuFactory(code="A"), SkuFactory(code="B")
    stock(a, warehouse, 5)
    stock(b, warehouse, 1)
    movements = StockMovement.objects.count()

    with pytest.raises(InsufficientStock) as exc:
        stock_reserve(order_id=7, lines=[LineRequest(1, "A", 2), LineRequest(2, "B", 2)], actor="test")

    assert exc.value.shortages == [{"sku": "B", "requested": 2, "available": 1}]
    assert level(a, warehouse) == (5, 0)
    assert level(b, warehouse) == (1, 0)
    assert not Reservation.objects.exists()
    assert StockMovement.objects.count() == movements


def test_failed_reserve_inside_callers_transaction_leaves_the_caller_usable(warehouse, sku):
    stock(sku, warehouse, 1)
    with transaction.atomic():
        with pytest.raises(InsufficientStock):
            stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 2)], actor="test")
        stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 1)], actor="test")
    assert level(sku, warehouse) == (1, 1)


def test_single_level_reserve_returns_saved_rows_and_joins_the_callers_transaction(warehouse, sku):
    stock(sku, warehouse, 5)
    with pytest.raises(RuntimeError), transaction.atomic():
        stock_reserve(order_id=9, lines=[LineRequest(1, sku.code, 2)], actor="test")
        raise RuntimeError("the caller rolls back")
    assert level(sku, warehouse) == (5, 0)
    assert not Reservation.objects.exists() and not StockMovement.objects.filter(kind="reserve").exists()

    reservations = stock_reserve(
        order_id=9, lines=[LineRequest(1, sku.code, 2), LineRequest(2, sku.code, 1)], expires_at=None, actor="test"
    )

    saved = Reservation.objects.values_list("pk", "order_line_id", "quantity", "stock_level__warehouse__code")
    assert sorted((r.pk, r.order_line_id, r.quantity, r.stock_level.warehouse.code) for r in reservations) == sorted(
        saved
    )
    assert level(sku, warehouse) == (5, 3)
    movements = StockMovement.objects.filter(kind="reserve").order_by("reference")
    assert [(m.reference, m.quantity, m.actor) for m in movements] == [("order:9 line:1", 2, "test"),
                                                                      ("order:9 line:2", 1, "test")]
    assert_no_drift()


def test_unknown_sku_is_refused_with_codes(warehouse, sku):
    stock(sku, warehouse, 5)
    with pytest.raises(UnknownSku) as exc:
        stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 1), LineRequest(2, "NOPE", 1)], actor="t")
    assert exc.value.codes == ["NOPE"]
    assert level(sku, warehouse) == (5, 0)


def test_single_sku_orders_for_unknown_or_untracked_skus(warehouse):
    SkuFactory(code="GIFT", track_inventory=False)
    with pytest.raises(UnknownSku) as exc:
        stock_reserve(order_id=1, lines=[LineRequest(1, "NOPE", 1)], actor="test")
    assert exc.value.codes == ["NOPE"]
    assert stock_reserve(order_id=1, lines=[LineRequest(1, "GIFT", 5), LineRequest(2, "GIFT", 1)], actor="t") == []
    assert not Reservation.objects.exists()


def test_an_order_without_lines_reserves_nothing():
    assert stock_reserve(order_id=1, lines=[], actor="test") == []


def test_untracked_skus_need_no_stock(warehouse, sku):
    SkuFactory(code="GIFT", track_inventory=False)
    stock(sku, warehouse, 1)
    reservations = stock_reserve(
        order_id=1, lines=[LineRequest(1, "GIFT", 100), LineRequest(2, sku.code, 1)], actor="test"
    )
    assert [r.order_line_id for r in reservations] == [2]


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2", True])
def test_reserve_refuses_bad_quantities(sku, quantity):
    with pytest.raises(InvalidQuantity):
        stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, quantity)], actor="test")


def test_release_restores_numbers_and_is_idempotent(warehouse, sku):
    stock(sku, warehouse, 10)
    stock_reserve(order_id=3, lines=[LineRequest(1, sku.code, 4), LineRequest(2, sku.code, 2)], actor="test")
    assert level(sku, warehouse) == (10, 6)

    assert stock_release(order_id=3, actor="user:ops", reason="cancelled") == 6
    assert stock_release(order_id=3, actor="user:ops", reason="cancelled") == 0

    assert level(sku, warehouse) == (10, 0)
    assert set(Reservation.objects.values_list("state", "release_reason")) == {("released", "cancelled")}
    assert not order_has_active_reservation(order_id=3)
    assert_no_drift()


def test_commit_drops_on_hand_and_reserved_and_is_idempotent(warehouse, sku):
    stock(sku, warehouse, 10)
    stock_reserve(order_id=3, lines=[LineRequest(1, sku.code, 4)], actor="test")
    assert stock_commit(order_id=3, actor="system") == 4
    assert stock_commit(order_id=3, actor="system") == 0
    assert stock_release(order_id=3, actor="system", reason="cancelled") == 0
    assert level(sku, warehouse) == (6, 0)
    movement = StockMovement.objects.filter(kind="commit").get()
    assert (movement.on_hand_delta, movement.reserved_delta, movement.reference) == (-4, -4, "order:3 line:1")
    assert_no_drift()


def test_expiry_selector_and_release_with_reason_expired(warehouse, sku):
    stock(sku, warehouse, 10)
    now = timezone.now()
    stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 2)], expires_at=now - timedelta(minutes=1), actor="t")
    stock_reserve(order_id=2, lines=[LineRequest(2, sku.code, 3)], expires_at=now + timedelta(hours=1), actor="t")
    stock_reserve(order_id=3, lines=[LineRequest(3, sku.code, 1)], actor="t")
    stock_reserve(order_id=4, lines=[LineRequest(4, sku.code, 1)], expires_at=now - timedelta(minutes=5), actor="t")
    stock_reservation_confirm(order_id=4)

    assert expired_reservation_order_ids(now=now) == [1]
    assert expired_reservation_order_ids(now=now + timedelta(hours=2)) == [1, 2]
    assert expired_reservation_order_ids(now=now + timedelta(hours=2), limit=1) == [1]

    assert stock_release(order_id=1, actor="system", reason="expired") == 2
    assert level(sku, warehouse) == (10, 5)
    assert expired_reservation_order_ids(now=now) == []
    assert StockMovement.objects.filter(kind="release", reason="expired").count() == 1
    assert_no_drift()


def test_receive_and_adjust(warehouse, sku):
    assert stock_receive(sku_code=sku.code, warehouse_code="main", quantity=10, actor="t").on_hand == 10
    assert stock_adjust(sku_code=sku.code, warehouse_code="main", delta=-3, reason="damaged", actor="t").on_hand == 7
    assert stock_adjust(sku_code=sku.code, warehouse_code="main", on_hand=20, reason="count", actor="t").on_hand == 20
    kinds = list(StockMovement.objects.order_by("id").values_list("kind", "quantity", "reason"))
    assert kinds == [("receipt", 10, "receipt"), ("adjustment", -3, "damaged"), ("adjustment", 13, "count")]
    assert_no_drift()


def test_adjust_below_reserved_is_refused_and_changes_nothing(warehouse, sku):
    stock(sku, warehouse, 10)
    stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 6)], actor="t")
    with pytest.raises(BelowReserved) as exc:
        stock_adjust(sku_code=sku.code, warehouse_code="main", on_hand=5, reason="count", actor="t")
    assert exc.value.field == "on_hand"
    with pytest.raises(BelowReserved) as exc:
        stock_adjust(sku_code=sku.code, warehouse_code="main", delta=-5, reason="count", actor="t")
    assert exc.value.field == "delta"
    assert level(sku, warehouse) == (10, 6)
    assert StockMovement.objects.filter(kind="adjustment").count() == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"on_hand": -1}, InvalidQuantity, "on_hand"),
        ({"delta": 1.5}, InvalidQuantity, "delta"),
        ({"delta": 0}, InvalidQuantity, "delta"),
        ({}, InvalidQuantity, "on_hand"),
        ({"on_hand": 1, "delta": 1}, InvalidQuantity, "on_hand"),
        ({"on_hand": 1, "warehouse_code": "nowhere"}, UnknownWarehouse, "warehouse"),
        ({"on_hand": 1, "sku_code": "NOPE"}, UnknownSku, "sku"),
    ],
)
def test_adjust_validates(warehouse, sku, kwargs, error, field):
    arguments = {"sku_code": sku.code, "warehouse_code": "main", "reason": "r", "actor": "t", **kwargs}
    with pytest.raises(error) as exc:
        stock_adjust(**arguments)
    assert exc.value.field == field
    assert not StockLevel.objects.filter(on_hand__gt=0).exists()


def test_database_refuses_reserved_above_on_hand(warehouse, sku):
    stock(sku, warehouse, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(sku=sku).update(reserved=2)


def test_ledger_is_append_only(warehouse, sku):
    stock(sku, warehouse, 1)
    movement = StockMovement.objects.get()
    with pytest.raises(ValueError):
        movement.save()
    with pytest.raises(ValueError):
        movement.delete()


def test_available_to_sell_subtracts_reserved_safety_stock_and_channel_buffer(warehouse):
    sku_upsert(code="A", name="A", safety_stock=2, actor="t")
    sku_upsert(code="FREE", name="Free", track_inventory=False, actor="t")
    other = warehouse_upsert(code="other", name="Other", priority=5)
    closed = warehouse_upsert(code="closed", name="Closed", active=False)
    for wh in (warehouse, other, closed):
        stock_receive(sku_code="A", warehouse_code=wh.code, quantity=5, actor="t")
    stock_reserve(order_id=1, lines=[LineRequest(1, "A", 3)], actor="t")

    channel = ChannelFactory(stock_buffer=4)

    assert available_to_sell(sku_codes=["A", "FREE", "NOPE"]) == {"A": 5}
    assert available_to_sell(sku_codes=["A"], channel=channel) == {"A": 1}
    channel.stock_buffer = 50
    assert available_to_sell(sku_codes=["A"], channel=channel) == {"A": 0}
    # A stock system sees the catalog's numbers, not a channel's view.
    assert available_to_sell(sku_codes=["A"], channel=ChannelFactory(kind="stock", stock_buffer=4)) == {"A": 5}


def test_sku_upsert_audits_each_change_with_its_actor():
    sku, _ = sku_upsert(code="X", name="First", actor="api:osk_1")
    sku_upsert(code="X", name="First", actor="api:osk_2")  # nothing changed: nothing recorded
    sku_upsert(code="X", name="First", track_inventory=False, restricted=True, actor="user:alice")
    sku_upsert(code="X", name="Renamed", track_inventory=False, actor="user:bob")  # restricted=None keeps it
    assert Sku.objects.get(code="X").restricted
    assert [(c.actor, c.changes) for c in SkuChange.objects.order_by("id")] == [
        ("api:osk_1", {"name": [None, "First"], "track_inventory": [None, True], "safety_stock": [None, 0],
                       "restricted": [None, False]}),
        ("user:alice", {"track_inventory": [True, False], "restricted": [False, True]}),
        ("user:bob", {"name": ["First", "Renamed"]}),
    ]
    change = SkuChange.objects.first()
    with pytest.raises(ValueError):
        change.save()
    with pytest.raises(ValueError):
        change.delete()


def test_stock_beyond_the_integer_column_is_refused_before_the_database(warehouse, sku):
    stock(sku, warehouse, 10)
    with pytest.raises(InvalidQuantity, match="more than the 2147483647 units"):
        stock_receive(sku_code=sku.code, warehouse_code=warehouse.code, quantity=2**31 - 10, actor="t")
    with pytest.raises(InvalidQuantity, match="between"):
        stock_adjust(sku_code=sku.code, warehouse_code=warehouse.code, delta=2**40, reason="r", actor="t")
    with pytest.raises(InvalidQuantity, match="between"):
        stock_adjust(sku_code=sku.code, warehouse_code=warehouse.code, on_hand=2**31, reason="r", actor="t")
    assert StockLevel.objects.values_list("on_hand", flat=True).get() == 10
    assert StockMovement.objects.count() == 1


def test_sku_upsert_creates_then_updates():
    sku, created = sku_upsert(code="X", name="First", actor="t")
    assert created
    sku, created = sku_upsert(code="X", name="Second", safety_stock=3, actor="t")
    assert not created
    assert (sku.name, sku.safety_stock) == ("Second", 3)
    with pytest.raises(InvalidQuantity):
        sku_upsert(code="X", name="Second", safety_stock=-1, actor="t")
