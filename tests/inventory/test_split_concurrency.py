"""Split stock under real threads on separate PostgreSQL connections: exact, conserving, deadlock-free, also
while the layout is switched back and forth mid-race."""

import itertools

import pytest
from django.core.management import call_command
from django.db import connection

from inventory.errors import InsufficientStock
from inventory.models import Reservation, StockBucket, StockLevel, StockMovement
from inventory.services import LineRequest, stock_commit, stock_release, stock_reserve
from inventory.splitting import stock_merge, stock_split
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock
from tests.inventory.helpers import assert_no_drift, level
from tests.threads import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


def _reserver(code: str, order_ids: list[int], outcomes: list):
    """Reserves one unit per order id in turn, recording each outcome; anything but a refusal propagates."""
    def run():
        for order_id in order_ids:
            try:
                stock_reserve(order_id=order_id, lines=[LineRequest(1, code, 1)], actor="t")
            except InsufficientStock:
                outcomes.append((order_id, False))
            else:
                outcomes.append((order_id, True))
    return run


def _order_ids(count: int) -> list[list[int]]:
    ids = list(range(1, count + 1))
    return [ids[i::THREADS] for i in range(THREADS)]


def _no_negative_row():
    with connection.cursor() as cursor:
        for table in (StockLevel._meta.db_table, StockBucket._meta.db_table):
            cursor.execute(f"SELECT count(*) FROM {table} WHERE reserved < 0 OR reserved > on_hand")
            assert cursor.fetchone()[0] == 0


def test_a_thousand_reservations_for_a_hundred_split_units_reserve_exactly_a_hundred():
    sku, warehouse = SkuFactory(code="HOT"), WarehouseFactory(code="main")
    stock(sku, warehouse, 100)
    stock_split(sku_code="HOT", warehouse_code="main", buckets=16, actor="t")
    outcomes: list = []

    results = run_concurrently([_reserver("HOT", ids, outcomes) for ids in _order_ids(1000)], timeout=300)

    assert [r for kind, r in results if kind == "error"] == []
    assert len(outcomes) == 1000
    assert sum(ok for _order, ok in outcomes) == 100
    assert level(sku, warehouse) == (100, 100)
    assert Reservation.objects.filter(state="active").count() == 100
    assert Reservation.objects.filter(bucket_id__isnull=False).count() >= 1  # the buckets did serve
    assert StockMovement.objects.filter(kind="reserve").count() == 100
    _no_negative_row()
    assert_no_drift()
    call_command("stock_reconcile", "--no-progress")


def test_switching_split_mode_mid_race_loses_and_doubles_nothing():
    sku, warehouse = SkuFactory(code="FLIP"), WarehouseFactory(code="main")
    stock(sku, warehouse, 300)
    outcomes: list = []
    layouts = []

    def toggler():
        for n in itertools.islice(itertools.cycle([16, 0, 4, 0, 2, 8]), 30):
            if n:
                layouts.append(stock_split(sku_code="FLIP", warehouse_code="main", buckets=n, actor="t").buckets)
            else:
                layouts.append(stock_merge(sku_code="FLIP", warehouse_code="main", actor="t").buckets)

    jobs = [_reserver("FLIP", ids, outcomes) for ids in _order_ids(600)] + [toggler]
    results = run_concurrently(jobs, timeout=300)

    assert [r for kind, r in results if kind == "error"] == []
    assert layouts == list(itertools.islice(itertools.cycle([16, 0, 4, 0, 2, 8]), 30))
    assert len(outcomes) == 600
    assert sum(ok for _order, ok in outcomes) == 300 == min(600, 300)
    assert level(sku, warehouse) == (300, 300)  # conservation: on hand unchanged, reserved = units sold
    assert Reservation.objects.filter(state="active").count() == 300
    _no_negative_row()
    assert_no_drift()


def test_reserve_release_and_ship_while_the_layout_changes_keep_every_unit_accounted_for():
    sku, warehouse = SkuFactory(code="MIX"), WarehouseFactory(code="main")
    stock(sku, warehouse, 200)
    stock_split(sku_code="MIX", warehouse_code="main", buckets=8, actor="t")
    shipped, released = [], []

    def worker(n):
        def run():
            for k in range(25):
                order_id = n * 1000 + k
                try:
                    stock_reserve(order_id=order_id, lines=[LineRequest(1, "MIX", 1 + k % 3)], actor="t")
                except InsufficientStock:
                    continue
                if k % 3 == 0:
                    shipped.append(stock_commit(order_id=order_id, actor="t"))
                elif k % 3 == 1:
                    released.append(stock_release(order_id=order_id, actor="t", reason="cancelled"))
        return run

    def toggler():
        for k in range(20):
            if k % 2:
                stock_merge(sku_code="MIX", warehouse_code="main", actor="t")
            else:
                stock_split(sku_code="MIX", warehouse_code="main", buckets=4 + k, actor="t")

    results = run_concurrently([worker(n) for n in range(12)] + [toggler], timeout=300)

    assert [r for kind, r in results if kind == "error"] == []
    active = sum(Reservation.objects.filter(state="active").values_list("quantity", flat=True))
    assert level(sku, warehouse) == (200 - sum(shipped), active)
    assert sum(shipped) > 0 and sum(released) > 0
    _no_negative_row()
    assert_no_drift()
