"""Split stock (hot SKUs): layout changes, reservations from buckets, settling back, totals everywhere."""

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from inventory.errors import BelowReserved, InsufficientStock, InventoryError, UnknownSku
from inventory.models import Reservation, SkuChange, StockBucket, StockLevel
from inventory.reconcile import bucket_drift
from inventory.selectors import available_to_sell
from inventory.services import (
    LineRequest,
    OrderStock,
    stock_adjust,
    stock_commit,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_reserve_many,
)
from inventory.splitting import stock_merge, stock_split
from inventory.tasks import publish_stock_changes
from sync.models import Event
from tests.inventory.factories import stock
from tests.inventory.helpers import assert_no_drift, level

pytestmark = pytest.mark.django_db


def _split(sku, buckets=4):
    return stock_split(sku_code=sku.code, warehouse_code="main", buckets=buckets, actor="user:ops")


def _buckets(sku) -> list[tuple[int, int]]:
    return list(StockBucket.objects.filter(stock_level__sku=sku).order_by("index").values_list("on_hand", "reserved"))


def _row(sku) -> tuple[int, int]:
    return StockLevel.objects.values_list("on_hand", "reserved").get(sku=sku)


def test_split_spreads_the_free_units_and_keeps_the_reserved_in_the_row(warehouse, sku):
    stock(sku, warehouse, 10)
    stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 3)], actor="t")

    _split(sku, 3)

    assert _row(sku) == (3, 3)
    assert _buckets(sku) == [(3, 0), (2, 0), (2, 0)]
    assert level(sku, warehouse) == (10, 3)
    assert SkuChange.objects.filter(sku=sku, changes={"buckets:main": [0, 3]}, actor="user:ops").exists()
    assert_no_drift()


def test_a_reservation_comes_from_one_bucket_and_goes_back_to_it(warehouse, sku):
    stock(sku, warehouse, 8)
    _split(sku, 4)

    [reservation] = stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 2)], actor="t")

    bucket = StockBucket.objects.get(pk=reservation.bucket_id)
    assert (bucket.on_hand, bucket.reserved) == (2, 2)
    assert _row(sku) == (0, 0) and level(sku, warehouse) == (8, 2)
    assert_no_drift()
    assert stock_release(order_id=1, actor="t", reason="cancelled") == 2
    bucket.refresh_from_db()
    assert (bucket.on_hand, bucket.reserved) == (2, 0)
    stock_reserve(order_id=2, lines=[LineRequest(1, sku.code, 1)], actor="t")
    assert stock_commit(order_id=2, actor="t") == 1
    assert level(sku, warehouse) == (7, 0)
    assert_no_drift()


def test_no_unit_is_refused_while_one_is_free_even_spread_over_buckets(warehouse, sku):
    stock(sku, warehouse, 10)
    _split(sku, 4)  # 3, 3, 2, 2: no bucket alone holds 7

    stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 7)], actor="t")
    assert level(sku, warehouse) == (10, 7)
    with pytest.raises(InsufficientStock) as refused:
        stock_reserve(order_id=2, lines=[LineRequest(1, sku.code, 4)], actor="t")
    assert refused.value.shortages == [{"sku": sku.code, "requested": 4, "available": 3}]
    for order_id in (3, 4, 5):
        stock_reserve(order_id=order_id, lines=[LineRequest(1, sku.code, 1)], actor="t")
    assert level(sku, warehouse) == (10, 10)
    assert sum(on_hand - reserved for on_hand, reserved in _buckets(sku)) == 0
    assert_no_drift()


def test_merge_puts_everything_in_the_row_and_old_reservations_settle_there(warehouse, sku):
    stock(sku, warehouse, 12)
    _split(sku, 4)
    stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 2)], actor="t")
    stock_reserve(order_id=2, lines=[LineRequest(1, sku.code, 3)], actor="t")

    stock_merge(sku_code=sku.code, warehouse_code="main", actor="user:ops")

    assert _row(sku) == (12, 5) and _buckets(sku) == []
    assert StockLevel.objects.get(sku=sku).buckets == 0
    assert_no_drift()
    _split(sku, 2)  # new buckets: the old reservations' buckets stay gone
    assert stock_release(order_id=1, actor="t", reason="cancelled") == 2
    assert stock_commit(order_id=2, actor="t") == 3
    assert level(sku, warehouse) == (9, 0)
    assert_no_drift()
    assert stock_merge(sku_code=sku.code, warehouse_code="main", actor="t").buckets == 0
    assert stock_merge(sku_code=sku.code, warehouse_code="main", actor="t").buckets == 0  # idempotent
    assert SkuChange.objects.filter(sku=sku, changes__has_key="buckets:main").count() == 4


def test_receive_and_adjust_count_the_buckets(warehouse, sku):
    stock(sku, warehouse, 10)
    _split(sku, 4)
    stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 4)], actor="t")

    received = stock_receive(sku_code=sku.code, warehouse_code="main", quantity=6, actor="t")
    assert (received.on_hand, received.reserved) == (16, 4)
    adjusted = stock_adjust(sku_code=sku.code, warehouse_code="main", on_hand=5, reason="count", actor="t")
    assert (adjusted.on_hand, adjusted.reserved) == (5, 4)
    with pytest.raises(BelowReserved):
        stock_adjust(sku_code=sku.code, warehouse_code="main", delta=-2, reason="lost", actor="t")
    assert level(sku, warehouse) == (5, 4)
    assert available_to_sell(sku_codes=[sku.code]) == {sku.code: 1}
    assert_no_drift()


def test_bulk_reservations_plan_on_the_whole_split_level(warehouse, sku):
    stock(sku, warehouse, 9)
    _split(sku, 3)

    outcomes = stock_reserve_many(
        orders=[OrderStock(order_id=i, lines=[LineRequest(1, sku.code, 4)]) for i in (1, 2, 3)], actor="t"
    )

    assert [len(outcomes[1]), len(outcomes[2])] == [1, 1]
    assert isinstance(outcomes[3], InsufficientStock)
    assert level(sku, warehouse) == (9, 8)
    assert sum(on_hand - reserved for on_hand, reserved in _buckets(sku)) == 1  # spread out again
    assert_no_drift()


def test_split_refuses_bad_input_with_nothing_written(warehouse, sku):
    stock(sku, warehouse, 5)
    for bad in (1, 0, 65, "4", True, 2.5):
        with pytest.raises(InventoryError) as refused:
            stock_split(sku_code=sku.code, warehouse_code="main", buckets=bad, actor="t")
        assert refused.value.field == "buckets"
    with pytest.raises(UnknownSku):
        stock_split(sku_code="NOPE", warehouse_code="main", buckets=4, actor="t")
    assert StockBucket.objects.count() == 0 and _row(sku) == (5, 0)


def test_reconcile_sees_a_unit_in_the_wrong_bucket(warehouse, sku, capsys):
    stock(sku, warehouse, 8)
    _split(sku, 2)
    [reservation] = stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 1)], actor="t")
    other = StockBucket.objects.exclude(pk=reservation.bucket_id).get()
    # Totals still agree with the ledger; only the per-bucket check can see this.
    StockBucket.objects.filter(pk=reservation.bucket_id).update(reserved=0, on_hand=F("on_hand") - 1)
    StockBucket.objects.filter(pk=other.pk).update(reserved=1, on_hand=F("on_hand") + 1)

    assert len(bucket_drift()) == 2
    with pytest.raises(SystemExit):
        call_command("stock_reconcile", "--no-progress")
    assert "bucket 0" in capsys.readouterr().out


def test_the_feed_publishes_totals_over_buckets(warehouse, sku):
    stock(sku, warehouse, 20)
    _split(sku, 4)
    publish_stock_changes()
    stock_reserve(order_id=1, lines=[LineRequest(1, sku.code, 3)], actor="t")
    assert StockBucket.objects.filter(version__gt=F("published_version")).exists()

    publish_stock_changes()

    last = Event.objects.filter(topic="stock.changed", stream=f"sku:{sku.code}").order_by("sequence").last()
    assert (last.payload["on_hand"], last.payload["reserved"], last.payload["available"]) == (20, 3, 17)
    assert not StockBucket.objects.filter(version__gt=F("published_version")).exists()
    assert not StockLevel.objects.filter(version__gt=F("published_version")).exists()
    assert Reservation.objects.get().bucket_id is not None


def test_the_command_switches_the_layout_and_refuses_bad_input(warehouse, sku, capsys):
    stock(sku, warehouse, 10)

    call_command("stock_split", sku.code, "main", "--buckets", "5")
    assert capsys.readouterr().out.strip() == f"{sku.code}@main: 5 buckets; on hand 10, reserved 0."
    assert _buckets(sku) == [(2, 0)] * 5
    call_command("stock_split", sku.code, "main", "--merge")
    assert capsys.readouterr().out.strip() == f"{sku.code}@main: one row; on hand 10, reserved 0."
    with pytest.raises(CommandError, match="^invalid_quantity: buckets: a whole number from 2 to 64"):
        call_command("stock_split", sku.code, "main", "--buckets", "1")
    with pytest.raises(CommandError, match="^unknown_warehouse"):
        call_command("stock_split", sku.code, "nowhere", "--buckets", "4")
    assert StockBucket.objects.count() == 0
