"""Real threads on separate PostgreSQL connections: no oversell, all-or-nothing, no deadlock."""

import pytest
from django.core.management import call_command

from inventory.models import Reservation, StockMovement
from inventory.services import InsufficientStock, LineRequest, stock_reserve
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock
from tests.inventory.helpers import assert_no_drift, level
from tests.threads import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)


def _reserve(order_id: int, lines: list[LineRequest]):
    return lambda: stock_reserve(order_id=order_id, lines=lines, actor="test")


def _outcomes(results):
    ok = [r for kind, r in results if kind == "ok"]
    refused = [r for kind, r in results if kind == "error" and isinstance(r, InsufficientStock)]
    other = [r for kind, r in results if kind == "error" and not isinstance(r, InsufficientStock)]
    return ok, refused, other


def test_fifty_orders_for_twenty_units_reserve_exactly_twenty():
    sku = SkuFactory(code="HOT")
    warehouse = WarehouseFactory(code="main")
    stock(sku, warehouse, 20)

    results = run_concurrently([_reserve(i, [LineRequest(i * 10, "HOT", 1)]) for i in range(1, 51)])

    ok, refused, other = _outcomes(results)
    assert other == []  # no deadlock, serialization or constraint error reaches a caller
    assert (len(ok), len(refused)) == (20, 30)
    assert level(sku, warehouse) == (20, 20)
    assert Reservation.objects.filter(state="active").count() == 20
    assert StockMovement.objects.filter(kind="reserve").count() == 20
    assert all(s.shortages == [{"sku": "HOT", "requested": 1, "available": 0}] for s in refused)
    assert_no_drift()
    call_command("stock_reconcile", "--no-progress")


def test_split_over_warehouses_under_contention_never_oversells():
    sku = SkuFactory(code="SPLIT")
    first, second = WarehouseFactory(code="first", priority=1), WarehouseFactory(code="second", priority=2)
    stock(sku, first, 7)
    stock(sku, second, 8)

    results = run_concurrently([_reserve(i, [LineRequest(i, "SPLIT", 2)]) for i in range(1, 21)])

    ok, refused, other = _outcomes(results)
    assert other == []
    reserved = sum(r.quantity for reservations in ok for r in reservations)
    assert reserved == 2 * len(ok)
    assert level(sku, first)[1] + level(sku, second)[1] == reserved
    # 15 units split freely across warehouses: seven 2-unit orders fit, one unit is left over.
    assert (len(ok), len(refused), reserved) == (7, 13, 14)
    assert_no_drift()


def test_multi_line_orders_in_opposite_line_order_are_atomic_and_deadlock_free():
    a, b = SkuFactory(code="A"), SkuFactory(code="B")
    warehouse = WarehouseFactory(code="main")
    stock(a, warehouse, 10)
    stock(b, warehouse, 25)

    jobs = []
    for i in range(1, 41):
        lines = [LineRequest(i * 10 + 1, "A", 1), LineRequest(i * 10 + 2, "B", 2)]
        jobs.append(_reserve(i, lines if i % 2 else list(reversed(lines))))
    results = run_concurrently(jobs)

    ok, refused, other = _outcomes(results)
    assert other == []
    # B (25 units, 2 per order) runs out after 12 orders and A (10 units) after 10: exactly 10 whole orders fit.
    assert (len(ok), len(refused)) == (10, 30)
    assert level(a, warehouse) == (10, 10)
    assert level(b, warehouse) == (25, 20)
    per_order = {}
    for reservation in Reservation.objects.all():
        per_order.setdefault(reservation.order_id, set()).add(reservation.stock_level.sku.code)
    assert len(per_order) == 10 and all(skus == {"A", "B"} for skus in per_order.values())
    assert_no_drift()


def test_opposite_order_reserves_with_plenty_of_stock_never_deadlock():
    """Many small two-SKU orders hammering the same rows in both line orders: every one must succeed."""
    skus = [SkuFactory(code=f"P{i}") for i in range(3)]
    warehouses = [WarehouseFactory(code=f"w{i}", priority=i) for i in range(2)]
    for sku in skus:
        for warehouse in warehouses:
            stock(sku, warehouse, 1000)

    def job(n):
        codes = ["P0", "P1", "P2"] if n % 2 else ["P2", "P1", "P0"]

        def run():
            for k in range(5):
                stock_reserve(
                    order_id=n * 100 + k, lines=[LineRequest(j, code, 1) for j, code in enumerate(codes)], actor="t"
                )
        return run

    results = run_concurrently([job(n) for n in range(16)])
    assert [r for kind, r in results if kind == "error"] == []
    assert Reservation.objects.filter(state="active").count() == 16 * 5 * 3
    assert_no_drift()


def test_upserts_and_the_publisher_never_deadlock_with_reservers():
    from inventory.services import sku_upsert, stock_release, warehouse_upsert
    from inventory.tasks import publish_stock_changes

    skus = [SkuFactory(code=f"M{i}") for i in range(3)]
    warehouses = [WarehouseFactory(code=f"m{i}", priority=i) for i in range(3)]
    for sku in skus:
        for warehouse in warehouses:
            stock(sku, warehouse, 200)

    def reserver(n):
        def run():
            for k in range(10):
                order_id = n * 100 + k
                lines = [LineRequest(j, f"M{(n + j) % 3}", 1 + (k % 3) * 30) for j in range(2)]
                stock_reserve(order_id=order_id, lines=lines, actor="t")
                if k % 2:
                    stock_release(order_id=order_id, actor="t", reason="cancelled")
        return run

    def upserter():
        for k in range(10):
            sku_upsert(code=f"M{k % 3}", name="M", safety_stock=k, actor="t")
            warehouse_upsert(code=f"m{k % 3}", name="M", priority=k % 3, active=k % 2 == 0)

    def publisher():
        for _ in range(15):
            publish_stock_changes()

    results = run_concurrently([reserver(n) for n in range(8)] + [upserter, publisher])
    errors = [r for kind, r in results if kind == "error" and not isinstance(r, InsufficientStock)]
    assert errors == []
    assert_no_drift()
