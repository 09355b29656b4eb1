"""Shopify webhooks against a real gunicorn and a real Celery worker host, load from Debian's `wrk` (50 connections).

1. Webhook receive latency (request -> 200) p50 / p99, as reported by wrk, next to POST /orders/ latency measured
   with the same wrk settings in the same run (informational ratio).
2. Webhook orders ingested end to end per second (first webhook received -> last order created by the worker) as a
   ratio to POST /orders/ single-order throughput in the same run. Goal >= 0.8: storing the raw message and
   processing it in a task must not halve ingest.

wrk's Lua cannot compute an HMAC, so the bodies and their signatures are computed here and handed to bench/wrk.py as
prepared requests, each wrk thread walking its own slice (no delivery is sent twice). `make bench` installs wrk.
BENCH_WEBHOOK_SECONDS sets each load phase (default 6). The worker host runs as many processes (prefork) as gunicorn
runs web workers (2 x cores + 1), so both paths get the same concurrency; BENCH_WEBHOOK_WORKERS overrides it.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from bench.wrk import wrk_run

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "6"))
WORKERS = int(os.environ.get("BENCH_WEBHOOK_WORKERS", str(2 * (os.cpu_count() or 2) + 1)))
CONNECTIONS = 50
THREADS = 2
# Enough distinct deliveries that no wrk thread runs out during a phase (checked after the run).
BODIES = int(os.environ.get("BENCH_WEBHOOK_BODIES", "12000"))
SECRET = "bench-webhook-secret"
SKUS = [f"BENCH-W-{i}" for i in range(200)]

def _seed() -> tuple[str, str]:
    from channels_integration.connectors.setup import channel_set_up
    from channels_integration.models import Channel
    from channels_integration.services import api_key_create
    from inventory.services import sku_upsert, stock_receive, warehouse_upsert

    shop = Channel.objects.filter(code="bench-shopify").first() or channel_set_up(
        code="bench-shopify", kind="shopify", currency="EUR", webhook_secret=SECRET)
    rest = Channel.objects.filter(code="bench-rest").first() or channel_set_up(code="bench-rest")
    warehouse_upsert(code="bench-wh", name="Bench", priority=1)
    for code in SKUS:
        sku_upsert(code=code, name=code, actor="system:bench")
        stock_receive(sku_code=code, warehouse_code="bench-wh", quantity=10_000_000, actor="bench")
    return shop.code, api_key_create(channel=rest, scopes=["orders:write"]).secret


def _lines(n: int) -> list[tuple[str, int, str]]:
    return [(SKUS[n % len(SKUS)], 1, "10.00"), (SKUS[(n + 7) % len(SKUS)], 2, "4.50")]


def _shopify_body(order_id: int, n: int) -> bytes:
    lines = _lines(n)
    total = sum(q * float(p) for _s, q, p in lines) + 4.90
    return json.dumps({
        "id": order_id, "name": f"#B{n}", "currency": "EUR", "email": "bench@example.com",
        "created_at": "2026-11-20T10:00:00+01:00", "updated_at": "2026-11-20T10:00:00+01:00",
        "financial_status": "pending", "total_price": f"{total:.2f}", "total_tax": "0.00", "total_discounts": "0.00",
        "customer": {"first_name": "Bench", "last_name": "Customer"},
        "shipping_address": {"address1": "1 Bench St", "city": "Berlin", "zip": "10115", "country_code": "DE"},
        "shipping_lines": [{"price": "4.90", "title": "Standard"}],
        "line_items": [{"id": order_id * 10 + i, "sku": sku, "name": "Widget", "quantity": q, "price": p}
                       for i, (sku, q, p) in enumerate(lines)],
    }).encode()


def _rest_body(external_id: str, n: int) -> bytes:
    return json.dumps({
        "external_id": external_id, "currency": "EUR", "customer_name": "Bench Customer",
        "customer_email": "bench@example.com", "placed_at": "2026-11-20T09:00:00Z", "shipping_total": "4.90",
        "shipping_address": {"line1": "1 Bench St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "lines": [{"sku": sku, "name": "Widget", "quantity": q, "unit_price": p} for sku, q, p in _lines(n)],
    }).encode()


def run() -> list[dict]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    from django.conf import settings
    from django.db.models import Max, Min

    from bench.server import Gunicorn
    from channels_integration.models import InboundMessage
    from orders.models import Order
    from tests.harness.celery_worker import CeleryWorkers, purge_broker, wait_until

    shop_code, api_secret = _seed()
    tag = uuid.uuid4().int % 10**12
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    shopify, rest_bodies = [], []
    for n in range(BODIES):
        body = _shopify_body(10**15 + tag * 100_000 + n, n)
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        shopify.append((body.decode(), {"X-Shopify-Hmac-Sha256": signature,
                                         "X-Shopify-Webhook-Id": f"bench-{tag}-{n}"}))
        rest_bodies.append((_rest_body(f"rest-{tag}-{n}", n).decode(), {}))
    load = dict(method="POST", seconds=SECONDS, connections=CONNECTIONS, threads=THREADS, timeout_s=10)

    purge_broker(settings.CELERY_BROKER_URL, list(settings.ORDERSYNC_QUEUES))
    workers = CeleryWorkers(tmp, settings.CELERY_BROKER_URL)
    server = Gunicorn(settings="bench.settings_orders")
    try:
        workers.start(queues=["channel"], pool="prefork", concurrency=WORKERS,
                      env={"DJANGO_SETTINGS_MODULE": "bench.settings_orders"})
        rest = wrk_run(port=server.port, path="/api/v1/orders/", headers={"Authorization": f"Bearer {api_secret}"},
                       prepared=rest_bodies, **load)
        rest_created = Order.objects.filter(external_id__startswith=f"rest-{tag}-").count()
        rest_rate = rest_created / SECONDS

        webhook = wrk_run(port=server.port, path=f"/webhooks/shopify/{shop_code}/",
                          headers={"X-Shopify-Topic": "orders/create"}, prepared=shopify, **load)
        mine = InboundMessage.objects.filter(dedupe_key__startswith=f"bench-{tag}-")
        wait_until(lambda: not mine.filter(state=InboundMessage.State.RECEIVED).exists(), timeout=900,
                   interval=0.5, message="the webhook backlog to be processed")
        stored = mine.count()
        span = mine.aggregate(first=Min("received_at"), last=Max("processed_at"))
        processed = mine.filter(state=InboundMessage.State.PROCESSED).count()
        ingest_rate = processed / (span["last"] - span["first"]).total_seconds()
    finally:
        server.stop()
        workers.stop_all()
        purge_broker(settings.CELERY_BROKER_URL, list(settings.ORDERSYNC_QUEUES))
        shutil.rmtree(tmp, ignore_errors=True)
    if not webhook.requests or not rest.requests:
        raise RuntimeError("wrk completed no request; the machine is too loaded for this run: "
                           f"webhooks {webhook.describe()}; REST {rest.describe()}")
    cycled = webhook.requests > BODIES
    note = (f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS:g}s; {webhook.requests} webhooks sent, {stored} stored, "
            f"{processed} processed by {WORKERS} worker processes; non-2xx {webhook.non_2xx}"
            + ("; bodies cycled (raise BENCH_WEBHOOK_BODIES)" if cycled else ""))
    return [
        dict(name="webhook receive latency p50 (request -> 200)", value=webhook.p50_ms, baseline=rest.p50_ms,
             unit="ms", ratio=webhook.p50_ms / rest.p50_ms, lower_is_better=True,
             goal="informational (baseline: POST /orders/ p50, same wrk settings)", notes=note),
        dict(name="webhook receive latency p99 (request -> 200)", value=webhook.p99_ms, baseline=rest.p99_ms,
             unit="ms", ratio=webhook.p99_ms / rest.p99_ms, lower_is_better=True,
             goal="informational (baseline: POST /orders/ p99)", notes=note),
        dict(name="webhook orders ingested end to end vs POST /orders/", value=ingest_rate, baseline=rest_rate,
             unit="orders/s", ratio=ingest_rate / rest_rate, goal=">= 0.8",
             notes=f"REST: {rest_created} orders in {SECONDS:g}s (non-2xx {rest.non_2xx}); webhooks: first "
                   "received -> last processed"),
    ]
