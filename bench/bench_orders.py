"""Orders API throughput against a real gunicorn, loaded from outside by wrk (bench/wrk.py), each as a ratio to a
baseline served by the same server with the same settings, interleaved A B A B with what it is compared with.

1. POST /orders/ (two lines) vs a bare DRF endpoint that inserts the body as one row (bench/urls_orders.py: same
   auth, scope check, throttle and parser), for 1, 2 and 4 gunicorn workers x 4, 16 and 64 wrk connections.
   Each cell also has the generator's ceiling: the same wrk against /healthz (no database) on the same server.
   Goal (4 workers, 16 connections) >= 0.5.
2. POST /orders/bulk/ (500 orders per request, one wrk connection) orders/second vs raw SQL (psycopg
   executemany, one transaction per 500, one connection) writing every row the endpoint writes. Goal >= 0.3.
"""

import json
import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from bench.server import Gunicorn
from bench.wrk import generator_ceiling, wrk_run

PHASE = float(os.environ.get("BENCH_ORDERS_SECONDS", "3"))
WORKERS = tuple(int(w) for w in os.environ.get("BENCH_ORDERS_WORKERS", "1,2,4").split(","))
CONNECTIONS = (4, 16, 64)
HEADLINE = (4, 16)  # the measurement: 4 workers, wrk with 16 connections
BULK_SIZE = 500
BULK_SECONDS = 2 * PHASE + 2
RAW_ROUNDS = 2
# A catalogue, not one hot item: 64 connections on 20 SKUs would mostly measure row-lock queues on stock levels.
SKUS = [f"BENCH-{i}" for i in range(200)]


def _seed() -> str:
    from django.db import connection

    from channels_integration.models import Channel
    from channels_integration.services import api_key_create, channel_create
    from inventory.services import sku_upsert, stock_receive, warehouse_upsert

    channel = Channel.objects.filter(code="bench-orders").first() or channel_create(code="bench-orders")
    warehouse_upsert(code="bench-wh", name="Bench", priority=1)
    for code in SKUS:
        sku_upsert(code=code, name=code, actor="bench")
        stock_receive(sku_code=code, warehouse_code="bench-wh", quantity=10_000_000, actor="bench")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_orders_baseline (id bigserial PRIMARY KEY, body jsonb)")
    return api_key_create(channel=channel, scopes=["orders:write", "orders:read"]).secret


def _order(external_id: str, n: int) -> dict:
    return {
        "external_id": external_id,
        "currency": "EUR",
        "customer_name": "Bench Customer",
        "customer_email": "bench@example.com",
        "shipping_address": {"line1": "1 Bench St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "placed_at": "2026-11-20T10:00:00Z",
        "lines": [
            {"sku": SKUS[n % len(SKUS)], "name": "Widget", "quantity": 1, "unit_price": "10.00"},
            {"sku": SKUS[(n + 7) % len(SKUS)], "name": "Gadget", "quantity": 2, "unit_price": "4.50"},
        ],
    }


def _raw_sql_orders_per_second(channel_id: int, rounds: int, *, all_rows: bool) -> float:
    """Raw SQL writing what POST /orders/bulk/ writes per order: order, 2 lines, 1 status change; with
    `all_rows` also the stock side (2 reservations, 2 movements, 2 conditional stock-level updates) and the
    outbox (stream counter, event). Same transaction shape: one per request."""
    import psycopg
    from django.conf import settings

    from inventory.models import StockLevel

    levels = {lv.sku.code: lv for lv in StockLevel.objects.select_related("sku").filter(sku__code__in=SKUS[:8])}
    db = settings.DATABASES["default"]
    now = datetime.now(UTC)
    with psycopg.connect(dbname=db["NAME"], host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"]) as conn:
        started = time.monotonic()
        for _ in range(rounds):
            tag = uuid.uuid4().hex[:8]
            with conn.transaction(), conn.cursor() as cur:
                orders = [
                    (channel_id, f"raw-{tag}-{n}", f"RAW{tag}{n:05d}"[:20], "new", "", "", "", "EUR",
                     Decimal("19.00"), 0, 0, 0, Decimal("19.00"), "Bench Customer", "bench@example.com", "", "en",
                     json.dumps({"city": "Berlin"}), "{}", now, "", "", "", "0" * 64, now, now)
                    for n in range(BULK_SIZE)
                ]
                cur.executemany(
                    "INSERT INTO orders_order (channel_id, external_id, number, status, held_from, hold_reason, "
                    "cancel_reason, currency, subtotal, shipping_total, tax_total, discount_total, total, "
                    "customer_name, customer_email, customer_phone, language, shipping_address, billing_address, "
                    "placed_at, payment_reference, tracking_number, carrier, body_hash, created_at, updated_at, "
                    "age_verified) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s, %s, %s, %s, false) RETURNING id",
                    orders, returning=True,
                )
                ids = []
                while True:
                    ids.append(cur.fetchone()[0])
                    if not cur.nextset():
                        break
                cur.executemany(
                    "INSERT INTO orders_orderline (order_id, position, sku, name, quantity, unit_price, line_total) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [row for i in ids for row in ((i, 1, SKUS[0], "Widget", 1, Decimal("10.00"), Decimal("10.00")),
                                                  (i, 2, SKUS[7], "Gadget", 2, Decimal("4.50"), Decimal("9.00")))],
                )
                cur.executemany(
                    "INSERT INTO orders_orderstatuschange (order_id, from_status, to_status, transition, actor, "
                    "actor_kind, reason, payload, created_at) VALUES (%s, '', 'new', 'create', 'bench', 'system', "
                    "'', '{}', %s)",
                    [(i, now) for i in ids],
                )
                if all_rows:
                    _raw_stock_and_outbox_rows(cur, ids, levels, now)
        return rounds * BULK_SIZE / (time.monotonic() - started)


def _raw_stock_and_outbox_rows(cur, ids, levels, now) -> None:
    pairs = [(i, levels[SKUS[0]], 1) for i in ids] + [(i, levels[SKUS[7]], 2) for i in ids]
    cur.executemany(
        "INSERT INTO inventory_reservation (order_id, order_line_id, stock_level_id, quantity, state, expires_at, "
        "release_reason, created_at, updated_at) VALUES (%s, %s, %s, %s, 'active', NULL, '', %s, %s)",
        [(i, i, lv.pk, q, now, now) for i, lv, q in pairs],
    )
    cur.executemany(
        "INSERT INTO inventory_stockmovement (kind, quantity, on_hand_delta, reserved_delta, reason, actor, "
        "reference, order_id, created_at, sku_id, stock_level_id, warehouse_id) "
        "VALUES ('reserve', %s, 0, %s, '', 'bench', %s, %s, %s, %s, %s, %s)",
        [(q, q, f"order:{i}", i, now, lv.sku_id, lv.pk, lv.warehouse_id) for i, lv, q in pairs],
    )
    cur.executemany(
        "UPDATE inventory_stocklevel SET reserved = reserved + %s, version = version + 1, updated_at = %s "
        "WHERE id = %s AND on_hand - reserved >= %s",
        [(q, now, lv.pk, q) for _i, lv, q in pairs],
    )
    cur.executemany(
        "INSERT INTO sync_streamcounter (key, last_sequence) VALUES (%s, 1) ON CONFLICT (key) DO UPDATE "
        "SET last_sequence = sync_streamcounter.last_sequence + 1",
        [(f"order:raw{i}",) for i in ids],
    )
    cur.executemany(
        "INSERT INTO sync_event (id, topic, order_id, stream, sequence, payload, created_at) "
        "VALUES (%s, 'order.created', %s, %s, 1, %s, %s)",
        [(uuid.uuid4(), i, f"order:raw{i}", json.dumps({"id": i, "status": "new"}), now) for i in ids],
    )


def _mean(values) -> float:
    return sum(values) / len(values)


def _single_cell(port: int, headers: dict, connections: int) -> dict:
    """Ceiling, then baseline and POST /orders/ alternated A B A B, each phase PHASE seconds."""
    ceiling = generator_ceiling(port=port, seconds=2, connections=connections)
    base, orders = [], []
    for _ in range(2):
        base.append(wrk_run(port=port, path="/bench/insert-one/", method="POST", seconds=PHASE,
                            connections=connections, headers=headers,
                            bodies=[_order("base-@ID@", n) for n in range(20)]))
        orders.append(wrk_run(port=port, path="/api/v1/orders/", method="POST", seconds=PHASE,
                              connections=connections, headers=headers,
                              bodies=[_order("single-@ID@", n) for n in range(len(SKUS))]))
    return {"ceiling": ceiling, "base": base, "orders": orders}


def _single_result(workers: int, connections: int, cell: dict) -> dict:
    base = _mean([r.ok_per_second for r in cell["base"]])
    value = _mean([r.ok_per_second for r in cell["orders"]])
    pairs = [o.ok_per_second / b.ok_per_second for b, o in zip(cell["base"], cell["orders"], strict=True)]
    failures = sum(r.non_2xx + r.socket_errors for r in cell["base"] + cell["orders"])
    headline = (workers, connections) == HEADLINE
    return {
        "name": f"POST /orders/ vs bare insert, {workers} worker(s), {connections} wrk connections",
        "value": value, "baseline": base, "unit": "req/s", "ratio": value / base,
        "goal": 0.5 if headline else None,
        "notes": (f"A B A B pair ratios {min(pairs):.2f}-{max(pairs):.2f}; orders p50/p99 "
                  f"{cell['orders'][-1].p50_ms:.0f}/{cell['orders'][-1].p99_ms:.0f} ms; generator ceiling "
                  f"(wrk on /healthz, same server) {cell['ceiling'].ok_per_second:.0f} req/s; failed answers "
                  f"{failures}" + ("" if headline else "; scaling, informational")),
    }


def _bulk(port: int, headers: dict, channel_id: int) -> dict:
    """Raw SQL and the endpoint alternated A B A B; wrk keeps one connection busy, as the raw SQL uses one."""
    raw, bulk = [], []
    body = {"orders": [_order("bulk-@ID@", n) for n in range(BULK_SIZE)]}
    for _ in range(2):
        raw.append(_raw_sql_orders_per_second(channel_id, RAW_ROUNDS, all_rows=True))
        result = wrk_run(port=port, path="/api/v1/orders/bulk/", method="POST", seconds=BULK_SECONDS,
                         connections=1, threads=1, headers=headers, bodies=[body], timeout_s=60)
        if result.non_2xx or result.socket_errors or not result.requests:
            raise RuntimeError(f"bulk failed: {result.describe()}")
        bulk.append(result)
    value = _mean([r.ok_per_second * BULK_SIZE for r in bulk])
    baseline = _mean(raw)
    return {
        "name": "POST /orders/bulk/ orders per second vs raw SQL of the same rows",
        "value": value, "baseline": baseline, "unit": "orders/s", "ratio": value / baseline, "goal": 0.3,
        "notes": (f"{BULK_SIZE} orders per request, {sum(r.requests for r in bulk)} requests over 2 x "
                  f"{BULK_SECONDS:.0f} s (p50 {bulk[-1].p50_ms:.0f} ms each); raw SQL {raw[0]:.0f} and {raw[1]:.0f} "
                  "orders/s: orders, lines, audit, reservations, movements, stock updates, outbox"),
    }


def _start(workers: int) -> Gunicorn:
    # On a loaded machine a start can miss bench.server's 30 s deadline once; a second miss is a failure.
    try:
        return Gunicorn(settings="bench.settings_orders", env={"WEB_CONCURRENCY": str(workers)})
    except RuntimeError:
        return Gunicorn(settings="bench.settings_orders", env={"WEB_CONCURRENCY": str(workers)})


def run() -> list[dict]:
    from channels_integration.models import Channel

    secret = _seed()
    channel_id = Channel.objects.get(code="bench-orders").pk
    headers = {"Authorization": f"Bearer {secret}"}
    results, one_worker = [], []
    for workers in WORKERS:
        server = _start(workers)
        try:
            for path, body in (("/bench/insert-one/", _order("warm-@ID@", 0)),
                               ("/api/v1/orders/", _order("warm-@ID@", 1))):
                wrk_run(port=server.port, path=path, method="POST", seconds=1, connections=4, headers=headers,
                        bodies=[body])
            for connections in CONNECTIONS:
                cell = _single_cell(server.port, headers, connections)
                results.append(_single_result(workers, connections, cell))
                if workers == 1:
                    one_worker.append(results[-1])
                print(f"   {results[-1]['name']}: ratio {results[-1]['ratio']:.2f}; {results[-1]['notes']}",
                      flush=True)
            if workers == HEADLINE[0]:
                results.append(_bulk(server.port, headers, channel_id))
        finally:
            server.stop()
    if one_worker:
        _mark_per_process(one_worker)
    first = [r for r in results if r["goal"] is not None]
    return [*first, *(r for r in results if r["goal"] is None)]


def _mark_per_process(one_worker: list[dict]) -> None:
    """The best one-worker cell is what one web process does at saturation: capacity advice reads it
    (bench/results/latest.json, analytics/capacity.py)."""
    from analytics.capacity import BENCH_INGEST_KEY

    best = max(one_worker, key=lambda r: r["value"])
    best["per_process"] = {BENCH_INGEST_KEY: best["value"]}
