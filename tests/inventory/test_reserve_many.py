"""stock_reserve_many: many orders in one pass, each all or nothing; with real threads, never an oversell."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Reservation, StockMovement
from inventory.services import (
    InsufficientStock,
    InvalidQuantity,
    LineRequest,
    OrderStock,
    UnknownSku,
    stock_reserve,
    stock_reserve_many,
)
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock
from tests.inventory.helpers import assert_no_drift, level
from tests.threads import run_concurrently


def _order(order_id: int, *lines: tuple[str, int]) -> OrderStock:
    return OrderStock(order_id=order_id,
                      lines=[LineRequest(order_id * 10 + i, code, qty) for i, (code, qty) in enumerate(lines)])


@pytest.mark.django_db
def test_each_order_gets_all_its_lines_or_nothing_in_the_given_order():
    a, b = SkuFactory(code="A"), SkuFactory(code="B")
    SkuFactory(code="FREE", track_inventory=False)
    warehouse = WarehouseFactory(code="main")
    stock(a, warehouse, 5)
    stock(b, warehouse, 3)
    expires = timezone.now() + timedelta(minutes=30)
    orders = [
        _order(1, ("A", 2), ("B", 2)),
        _order(2, ("A", 2), ("B", 2)),  # B has 1 left: refused as a whole, A untouched
        _order(3, ("A", 3)),  # gets the 3 A that order 2 did not take
        _order(4, ("GHOST", 1), ("A", 1)),
        _order(5, ("FREE", 4)),
        OrderStock(order_id=6, lines=[LineRequest(61, "B", 1)], expires_at=expires),
    ]

    outcomes = stock_reserve_many(orders=orders, actor="test")

    assert [(r.order_line_id, r.quantity) for r in outcomes[1]] == [(10, 2), (11, 2)]
    assert isinstance(outcomes[2], InsufficientStock)
    assert outcomes[2].shortages == [{"sku": "B", "requested": 2, "available": 1}]
    assert [(r.order_line_id, r.quantity) for r in outcomes[3]] == [(30, 3)]
    assert isinstance(outcomes[4], UnknownSku) and outcomes[4].codes == ["GHOST"]
    assert outcomes[5] == []
    assert [(r.quantity, r.expires_at) for r in outcomes[6]] == [(1, expires)]
    assert level(a, warehouse) == (5, 5) and level(b, warehouse) == (3, 3)
    assert set(Reservation.objects.values_list("order_id", flat=True)) == {1, 3, 6}
    assert StockMovement.objects.filter(kind="reserve").count() == 4
    assert all(r.pk for rs in (outcomes[1], outcomes[3], outcomes[6]) for r in rs)
    assert_no_drift()


@pytest.mark.django_db
def test_prefers_one_warehouse_and_splits_only_when_none_suffices():
    sku = SkuFactory(code="S")
    first, second = WarehouseFactory(code="first", priority=1), WarehouseFactory(code="second", priority=2)
    stock(sku, first, 3)
    stock(sku, second, 4)

    outcomes = stock_reserve_many(orders=[_order(1, ("S", 4)), _order(2, ("S", 3))], actor="test")

    assert [(r.stock_level.warehouse.code, r.quantity) for r in outcomes[1]] == [("second", 4)]
    assert [(r.stock_level.warehouse.code, r.quantity) for r in outcomes[2]] == [("first", 3)]
    assert level(sku, first) == (3, 3) and level(sku, second) == (4, 4)
    assert_no_drift()


@pytest.mark.django_db
def test_nothing_to_reserve_and_bad_input():
    assert stock_reserve_many(orders=[OrderStock(order_id=1, lines=[])], actor="test") == {1: []}
    assert stock_reserve_many(orders=[], actor="test") == {}
    with pytest.raises(InvalidQuantity):
        stock_reserve_many(orders=[_order(1, ("A", 0))], actor="test")
    assert not Reservation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_batches_and_single_reserves_racing_for_few_units_never_oversell():
    """Batches of two-SKU orders (lines in both orders) race single reserves for the same rows."""
    a, b = SkuFactory(code="RA"), SkuFactory(code="RB")
    first, second = WarehouseFactory(code="r1", priority=1), WarehouseFactory(code="r2", priority=2)
    for sku, warehouse, quantity in ((a, first, 9), (a, second, 6), (b, first, 20)):
        stock(sku, warehouse, quantity)

    def batch(n):
        orders = [_order(n * 100 + k, ("RA", 1), ("RB", 2)) if k % 2 else _order(n * 100 + k, ("RB", 2), ("RA", 1))
                  for k in range(6)]
        return lambda: stock_reserve_many(orders=orders, actor="test")

    def single(n):
        return lambda: stock_reserve(order_id=n, lines=[LineRequest(n * 10, "RA", 1), LineRequest(n * 10 + 1, "RB", 2)],
                                     actor="test")

    results = run_concurrently([batch(n) for n in range(1, 5)] + [single(n) for n in range(1, 9)])

    errors = [r for kind, r in results if kind == "error" and not isinstance(r, InsufficientStock)]
    assert errors == []
    reserved_orders = set(Reservation.objects.values_list("order_id", flat=True))
    # RB (20 units, 2 per order) limits everyone to 10 whole orders; RA has 15.
    assert len(reserved_orders) == 10
    for order_id in reserved_orders:
        rows = Reservation.objects.filter(order_id=order_id)
        assert sorted((r.stock_level.sku.code, r.quantity) for r in rows) == [("RA", 1), ("RB", 2)]
    assert level(b, first) == (20, 20)
    assert level(a, first)[1] + level(a, second)[1] == 10
    assert_no_drift()
