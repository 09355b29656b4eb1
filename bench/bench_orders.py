"""Orders API throughput against a real gunicorn server, each as a ratio to a baseline measured in the same run.

1. POST /orders/ with 16 concurrent keep-alive clients vs a bare DRF endpoint that inserts one row, served by
   the same server with the same settings (bench/urls_orders.py). Goal >= 0.3.
2. POST /orders/bulk/ (500 orders per request) orders/second vs raw SQL (psycopg executemany) inserting the
   same order, line and status-change rows. Goal >= 0.3.
"""

import http.client
import itertools
import json
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from bench.server import Gunicorn

CLIENTS = 16
DURATION = float(os.environ.get("BENCH_ORDERS_SECONDS", "8"))
BULK_SIZE = 500
BULK_ROUNDS = 3
# A catalogue, not one hot item: 16 clients on 20 SKUs would mostly measure row-lock queues on stock levels.
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


def _load(port: int, path: str, secret: str, body_for, seconds: float) -> tuple[float, int]:
    """16 keep-alive clients post as fast as they can; returns (successful requests/second, failures)."""
    counter = itertools.count()
    ok, failed = [0] * CLIENTS, [0] * CLIENTS
    start = threading.Barrier(CLIENTS + 1)
    stop_at = [0.0]

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        start.wait()
        while time.monotonic() < stop_at[0]:
            conn.request("POST", path, json.dumps(body_for(next(counter))), headers)
            response = conn.getresponse()
            response.read()
            if response.status in (200, 201):
                ok[i] += 1
            else:
                failed[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    began = time.monotonic()
    stop_at[0] = began + seconds
    start.wait()
    for t in threads:
        t.join()
    return sum(ok) / (time.monotonic() - began), sum(failed)


def _post(port: int, path: str, secret: str, body: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", path, json.dumps(body), {"Authorization": f"Bearer {secret}",
                                                  "Content-Type": "application/json"})
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"bulk answered {response.status}: {data}")
    return data


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
                    "placed_at, payment_reference, tracking_number, carrier, body_hash, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s, %s, %s, %s) RETURNING id",
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


def run() -> list[dict]:
    from channels_integration.models import Channel

    secret = _seed()
    channel_id = Channel.objects.get(code="bench-orders").pk
    tag = uuid.uuid4().hex[:8]
    server = Gunicorn(settings="bench.settings_orders")
    try:
        _load(server.port, "/bench/insert-one/", secret, lambda n: _order(f"warm-{tag}-{n}", n), 1.0)
        base_rps, base_failed = _load(server.port, "/bench/insert-one/", secret,
                                      lambda n: _order(f"base-{tag}-{n}", n), DURATION)
        orders_rps, orders_failed = _load(server.port, "/api/v1/orders/", secret,
                                          lambda n: _order(f"single-{tag}-{n}", n), DURATION)
        bulk_started = time.monotonic()
        for r in range(BULK_ROUNDS):
            data = _post(server.port, "/api/v1/orders/bulk/", secret,
                         {"orders": [_order(f"bulk-{tag}-{r}-{n}", n) for n in range(BULK_SIZE)]})
            created = sum(1 for item in data["results"] if item["status"] == 201)
            if created != BULK_SIZE:
                raise RuntimeError(f"bulk created {created} of {BULK_SIZE}")
        bulk_ops = BULK_ROUNDS * BULK_SIZE / (time.monotonic() - bulk_started)
    finally:
        server.stop()
    raw_all = _raw_sql_orders_per_second(channel_id, BULK_ROUNDS, all_rows=True)
    raw_orders = _raw_sql_orders_per_second(channel_id, BULK_ROUNDS, all_rows=False)
    return [
        {"name": "POST /orders/ throughput, 16 clients", "value": orders_rps, "baseline": base_rps,
         "unit": "req/s", "ratio": orders_rps / base_rps, "goal": 0.3,
         "notes": f"baseline: bare DRF insert-one-row endpoint, same server; failures {orders_failed}/{base_failed}"},
        {"name": "POST /orders/bulk/ orders per second", "value": bulk_ops, "baseline": raw_all,
         "unit": "orders/s", "ratio": bulk_ops / raw_all, "goal": 0.3,
         "notes": f"{BULK_ROUNDS}x{BULK_SIZE} orders; baseline: raw SQL executemany of every row the endpoint "
                  "writes (orders, lines, audit, reservations, movements, stock updates, outbox)"},
        {"name": "POST /orders/bulk/ vs raw SQL of order rows only", "value": bulk_ops, "baseline": raw_orders,
         "unit": "orders/s", "ratio": bulk_ops / raw_orders, "goal": 0.3,
         "notes": "informational: baseline writes only orders, lines and audit rows (no stock, no outbox)"},
    ]
