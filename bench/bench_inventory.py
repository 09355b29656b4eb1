"""Hot-SKU reservations: stock_reserve (single row and split stock) vs the bare conditional UPDATE.

Four sides hammer the same database in the same run, each on its own fresh SKU with plenty of stock:
- raw single row: `UPDATE stock_level SET reserved = reserved + 1 WHERE id = … AND on_hand - reserved >= 1`
  (autocommit, psycopg): the floor of what any "reserve one unit" of one row can cost, and the baseline of
  every ratio;
- raw split: the same UPDATE on a random one of the SKU's 16 buckets (what split stock can give at most);
- stock_reserve on an ordinary (single-row) SKU, and on a SKU split into 16 buckets (also writing the
  reservation and its ledger row).
Clients are OS processes (up to 8, each with an equal share of threads, one connection per thread), because
reservations have no HTTP endpoint to point wrk at and one process's GIL would cap the Python sides.
Rounds alternate the order of the sides so background load hits all alike; measured at 4, 16 and 64 clients.
Then oversell: 64 clients race 1,600 attempts for 400 units of a split SKU, and exactly 400 must be sold.
"""

import itertools
import multiprocessing
import os
import random
import threading
import time
import uuid

CLIENT_COUNTS = (4, 16, 64)
MAX_PROCESSES = 8
BUCKETS = 16
ROUNDS = 2
ROUND_SECONDS = 1.5
START_DELAY = 1.5  # every client connects before the common start time
OVERSELL_STOCK = 400
OVERSELL_CLIENTS = 64
OVERSELL_ATTEMPTS = 1600
SIDES = ("raw single row", "raw split", "stock_reserve single row", "stock_reserve split")


def _setup() -> None:
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def _raw_connection():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(dbname=db["NAME"], host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                           password=db["PASSWORD"], autocommit=True)


def _operation(side: str, target: dict):
    """(connect, reserve-one-unit -> 0/1, close) for one client thread."""
    from inventory.models import StockBucket, StockLevel

    if side.startswith("raw"):
        conn = _raw_connection()
        if side == "raw single row":
            sql = (f"UPDATE {StockLevel._meta.db_table} SET reserved = reserved + 1 "
                   "WHERE id = %s AND on_hand - reserved >= 1")
            return lambda: conn.execute(sql, [target["level"]]).rowcount, conn.close
        sql = (f'UPDATE {StockBucket._meta.db_table} SET reserved = reserved + 1 '
               'WHERE stock_level_id = %s AND "index" = %s AND on_hand - reserved >= 1')
        return (lambda: conn.execute(sql, [target["level"], random.randrange(BUCKETS)]).rowcount), conn.close

    from django.db import connection

    from inventory.services import InsufficientStock, LineRequest, stock_reserve

    connection.ensure_connection()
    order_ids = itertools.count(random.randrange(10**15))

    def reserve() -> int:
        order_id = next(order_ids)
        try:
            stock_reserve(order_id=order_id, lines=[LineRequest(1, target["code"], 1)], actor="bench")
        except InsufficientStock:
            return 0
        return 1

    return reserve, connection.close


def _client_task(side: str, target: dict, threads: int, start_at: float, seconds: float | None,
                 attempts: int | None) -> tuple[int, int]:
    """Runs in a client process: `threads` clients from start_at for `seconds` (or `attempts` each);
    returns (units reserved, attempts made)."""
    _setup()
    done, tried = [0] * threads, [0] * threads

    def client(i):
        operation, close = _operation(side, target)
        try:
            time.sleep(max(start_at - time.time(), 0))
            deadline = start_at + (seconds or 0)
            while (attempts is None or tried[i] < attempts) and (seconds is None or time.time() < deadline):
                done[i] += operation()
                tried[i] += 1
        finally:
            close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done), sum(tried)


def _hammer(pool, side, target, clients, *, seconds=None, attempts_per_client=None) -> tuple[int, int]:
    processes = min(clients, MAX_PROCESSES)
    start_at = time.time() + START_DELAY
    tasks = [(side, target, clients // processes, start_at, seconds, attempts_per_client)] * processes
    results = pool.starmap(_client_task, tasks)
    return sum(r[0] for r in results), sum(r[1] for r in results)


def _fresh_sku(prefix: str, quantity: int, *, buckets: int = 0) -> dict:
    from inventory.models import StockLevel
    from inventory.services import sku_upsert, stock_receive, warehouse_upsert
    from inventory.splitting import stock_split

    code = f"{prefix}-{uuid.uuid4().hex[:8]}"
    sku_upsert(code=code, name=code, actor="bench")
    warehouse_upsert(code="bench", name="Bench warehouse", priority=1)
    stock_receive(sku_code=code, warehouse_code="bench", quantity=quantity, actor="bench")
    if buckets:
        stock_split(sku_code=code, warehouse_code="bench", buckets=buckets, actor="bench")
    return {"code": code, "level": StockLevel.objects.get(sku__code=code).pk}


def _targets() -> dict[str, dict]:
    return {
        "raw single row": _fresh_sku("RAW", 10**8),
        "raw split": _fresh_sku("RAWSPLIT", 10**8, buckets=BUCKETS),
        "stock_reserve single row": _fresh_sku("HOT", 10**8),
        "stock_reserve split": _fresh_sku("HOTSPLIT", 10**8, buckets=BUCKETS),
    }


def _oversell(pool) -> dict:
    from inventory.buckets import level_totals
    from inventory.models import Reservation

    target = _fresh_sku("SCARCE", OVERSELL_STOCK, buckets=BUCKETS)
    sold, tried = _hammer(pool, "stock_reserve split", target, OVERSELL_CLIENTS,
                          attempts_per_client=OVERSELL_ATTEMPTS // OVERSELL_CLIENTS)
    on_hand, reserved = level_totals(target["level"])
    held = sum(Reservation.objects.filter(stock_level_id=target["level"], state="active")
               .values_list("quantity", flat=True))
    oversell = max(sold - OVERSELL_STOCK, 0) + max(reserved - on_hand, 0)
    exact = (sold, on_hand, reserved, held) == (OVERSELL_STOCK,) * 4
    return {
        "name": f"split-stock oversell units ({tried} attempts from {OVERSELL_CLIENTS} clients race for "
                f"{OVERSELL_STOCK} units in {BUCKETS} buckets)",
        "value": oversell,
        "baseline": 0,
        "unit": "units",
        "ratio": 1.0 if oversell == 0 and exact else 0.0,
        "goal": f"0 oversell, exactly {OVERSELL_STOCK} sold",
        "notes": f"sold {sold}, refused {tried - sold}, on_hand {on_hand}, reserved {reserved}, active "
                 f"reservations {held}",
    }


def run() -> list[dict]:
    from django.db import connection

    targets = _targets()
    connection.close()  # the parent's connection is not needed while the clients run
    results = []
    with multiprocessing.get_context("spawn").Pool(MAX_PROCESSES) as pool:
        for side in SIDES:  # warm-up: process start, imports, plans
            _hammer(pool, side, targets[side], MAX_PROCESSES, seconds=0.3)
        for clients in CLIENT_COUNTS:
            done = dict.fromkeys(SIDES, 0)
            load = os.getloadavg()[0]
            for round_no in range(ROUNDS):
                for side in SIDES if round_no % 2 == 0 else reversed(SIDES):
                    done[side] += _hammer(pool, side, targets[side], clients, seconds=ROUND_SECONDS)[0]
            rate = {side: done[side] / (ROUNDS * ROUND_SECONDS) for side in SIDES}
            baseline = rate["raw single row"]
            notes = (f"{ROUNDS} alternating rounds of {ROUND_SECONDS:g}s per side, {min(clients, MAX_PROCESSES)} "
                     f"client processes; raw single-row UPDATE {baseline:.0f}/s; load average {load:.1f}")
            for side, goal in (("stock_reserve single row", ">= 0.5"), ("stock_reserve split", ">= 3"),
                               ("raw split", ">= 3 (pilot: 4.9)")):
                results.append({
                    "name": f"hot SKU, {side}{f' ({BUCKETS} buckets)' if 'split' in side else ''}, "
                            f"{clients} clients",
                    "value": rate[side],
                    "baseline": baseline,
                    "unit": "reservations/s",
                    "ratio": rate[side] / baseline if baseline else 0.0,
                    "goal": goal,
                    "notes": notes,
                })
        results.append(_oversell(pool))
    return results
