"""Hot-SKU reservations: stock_reserve vs the bare conditional UPDATE, 16 clients each on its own connection.

Both sides hammer one stock-level row in the same database in the same run. The raw side is the floor of
what any "reserve one unit" can cost (one autocommit UPDATE ... WHERE on_hand - reserved >= 1); the service
side also writes the reservation and its ledger row. Rounds alternate between the sides so background load
on the machine hits both alike. A second phase checks oversell: 16 clients race for far more units than
exist, and exactly the stock on hand must be sold.
"""

import itertools
import threading
import time
import uuid

CLIENTS = 16
ROUNDS = 4
ROUND_SECONDS = 1.0
OVERSELL_STOCK = 400
OVERSELL_ATTEMPTS_PER_CLIENT = 60


def _hammer(connect, operation, *, seconds: float | None = None, attempts: int | None = None) -> list[int]:
    """Each client connects, waits for the others, then runs `operation` until time or attempts run out."""
    barrier = threading.Barrier(CLIENTS)
    counts = [0] * CLIENTS

    def client(i):
        conn = connect()
        try:
            barrier.wait()
            deadline = time.monotonic() + (seconds or 0)
            for n in itertools.count():
                if (attempts is not None and n >= attempts) or (seconds is not None and time.monotonic() >= deadline):
                    break
                counts[i] += operation(conn)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def _fresh_sku(prefix: str, quantity: int) -> str:
    from inventory.services import sku_upsert, stock_receive, warehouse_upsert

    code = f"{prefix}-{uuid.uuid4().hex[:8]}"
    sku_upsert(code=code, name=code, actor="bench")
    warehouse_upsert(code="bench", name="Bench warehouse", priority=1)
    stock_receive(sku_code=code, warehouse_code="bench", quantity=quantity, actor="bench")
    return code


def _service_client():
    from django.db import connection

    connection.ensure_connection()
    return connection


def _reserve_one(code: str, order_ids):
    from inventory.services import InsufficientStock, LineRequest, stock_reserve

    def operation(_conn) -> int:
        order_id = next(order_ids)
        try:
            stock_reserve(order_id=order_id, lines=[LineRequest(order_id, code, 1)], actor="bench")
        except InsufficientStock:
            return 0
        return 1

    return operation


def _raw_client():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(dbname=db["NAME"], host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                           password=db["PASSWORD"], autocommit=True)


def _raw_update(level_id: int):
    from inventory.models import StockLevel

    sql = f"UPDATE {StockLevel._meta.db_table} SET reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1"
    return lambda conn: conn.execute(sql, [level_id]).rowcount


def run() -> list[dict]:
    from inventory.models import StockLevel

    order_ids = itertools.count(int(time.time() * 1000) % 10**12)
    service_op = _reserve_one(_fresh_sku("HOT", 10**8), order_ids)
    raw_op = _raw_update(StockLevel.objects.get(sku__code=_fresh_sku("RAW", 10**8)).pk)

    _hammer(_service_client, service_op, seconds=0.3)  # warm-up: connections, caches, prepared plans
    _hammer(_raw_client, raw_op, seconds=0.3)
    done = {"service": 0, "raw": 0}
    for round_no in range(ROUNDS):
        sides = [("service", _service_client, service_op), ("raw", _raw_client, raw_op)]
        for side, connect, operation in sides if round_no % 2 == 0 else reversed(sides):
            done[side] += sum(_hammer(connect, operation, seconds=ROUND_SECONDS))
    service_done, raw_done = done["service"], done["raw"]
    seconds = ROUNDS * ROUND_SECONDS
    service_rate, raw_rate = service_done / seconds, raw_done / seconds

    scarce = _fresh_sku("SCARCE", OVERSELL_STOCK)
    sold = sum(_hammer(_service_client, _reserve_one(scarce, order_ids), attempts=OVERSELL_ATTEMPTS_PER_CLIENT))
    level = StockLevel.objects.get(sku__code=scarce)
    oversell = max(sold - OVERSELL_STOCK, 0) + max(level.reserved - level.on_hand, 0)
    exact = (sold, level.on_hand, level.reserved) == (OVERSELL_STOCK, OVERSELL_STOCK, OVERSELL_STOCK)
    attempts = CLIENTS * OVERSELL_ATTEMPTS_PER_CLIENT

    return [
        {
            "name": f"hot-SKU reservations/s, {CLIENTS} clients",
            "value": service_rate,
            "baseline": raw_rate,
            "unit": "reservations/s",
            "ratio": service_rate / raw_rate,
            "goal": ">= 0.5",
            "notes": f"{ROUNDS} alternating rounds of {ROUND_SECONDS:g}s per side; stock_reserve {service_done}, "
                     f"raw conditional UPDATE {raw_done}",
        },
        {
            "name": f"oversell units ({attempts} attempts race for {OVERSELL_STOCK} in stock)",
            "value": oversell,
            "baseline": 0,
            "unit": "units",
            "ratio": 1.0 if oversell == 0 and exact else 0.0,
            "goal": f"0 oversell, exactly {OVERSELL_STOCK} sold",
            "notes": f"sold {sold}, refused {attempts - sold}, on_hand {level.on_hand}, reserved {level.reserved}",
        },
    ]
