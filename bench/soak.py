"""Soak: a steady, fixed-rate load of orders, payment transitions and Shopify webhooks for SOAK_SECONDS (default
600) against gunicorn and a Celery worker + beat with production settings (bench/settings.py), then docs/SOAK.md
and docs/img/soak/soak.png with p99 latency per interval and the RSS of the web and worker processes over time.

The load is open-loop (requests start on a fixed schedule whether or not earlier ones have answered, so a slowing
server shows up as latency instead of a lower rate) and comes from a separate Python process (`--load`), never
from the server's own processes. Rates: SOAK_ORDERS_PER_SECOND (default 4; each order is followed by its `pay`
transition) and SOAK_WEBHOOKS_PER_SECOND (default 4). SOAK_INTERVAL_SECONDS (default 30) is the p99 window.
Drift is the p99 of the last third of the run over the p99 of the first third (warm-up interval excluded); RSS
growth is the last sample against the sample at the end of the first interval.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
ORDERS_PER_SECOND = float(os.environ.get("SOAK_ORDERS_PER_SECOND", "4"))
WEBHOOKS_PER_SECOND = float(os.environ.get("SOAK_WEBHOOKS_PER_SECOND", "4"))
INTERVAL = float(os.environ.get("SOAK_INTERVAL_SECONDS", "30"))
RSS_EVERY = 5.0
SECRET = "soak-webhook-secret"
SKUS = [f"SOAK-{i}" for i in range(100)]
KINDS = ("POST /orders/", "POST transitions/pay/", "POST /webhooks/shopify/")


# --- the load generator (its own process) ---------------------------------------------------------------------

def _order_body(external_id: str, n: int) -> dict:
    return {"external_id": external_id, "currency": "EUR", "customer_name": "Soak Customer",
            "customer_email": "soak@example.com", "placed_at": "2026-11-20T10:00:00Z",
            "shipping_address": {"line1": "1 Soak St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
            "lines": [{"sku": SKUS[n % len(SKUS)], "name": "Widget", "quantity": 1, "unit_price": "10.00"}]}


def _webhook_body(order_id: int, n: int) -> bytes:
    return json.dumps({
        "id": order_id, "name": f"#S{n}", "currency": "EUR", "email": "soak@example.com",
        "created_at": "2026-11-20T10:00:00+01:00", "updated_at": "2026-11-20T10:00:00+01:00",
        "financial_status": "pending", "total_price": "14.90", "total_tax": "0.00", "total_discounts": "0.00",
        "customer": {"first_name": "Soak", "last_name": "Customer"},
        "shipping_address": {"address1": "1 Soak St", "city": "Berlin", "zip": "10115", "country_code": "DE"},
        "shipping_lines": [{"price": "4.90", "title": "Standard"}],
        "line_items": [{"id": order_id * 10, "sku": SKUS[n % len(SKUS)], "name": "Widget", "quantity": 1,
                        "price": "10.00"}],
    }).encode()


class _Client(threading.local):
    """One keep-alive connection per thread. gunicorn closes idle keep-alive connections after a few seconds; a
    request that meets such a close on a reused connection is sent once more on a fresh one (orders and webhooks
    are idempotent by external id / webhook id), as any HTTP client does. Failures on a fresh one count."""

    retries = 0

    def __init__(self, port: int):
        self.port = port
        self.conn, self.used = None, False

    def post(self, path: str, body: bytes, headers: dict) -> tuple[int, bytes, float]:
        started = time.monotonic()
        for _attempt in range(2):
            if self.conn is None:
                self.conn, self.used = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30), False
            reused = self.used
            try:
                self.conn.request("POST", path, body, headers)
                response = self.conn.getresponse()
                data = response.read()
                self.used = True
                return response.status, data, (time.monotonic() - started) * 1000
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if not reused:
                    break
                _Client.retries += 1  # the latency recorded includes the failed attempt
        return 0, b"", (time.monotonic() - started) * 1000


def load(port: int, write_key: str, pay_key: str, shop: str, out: Path) -> None:
    client = _Client(port)
    lock = threading.Lock()
    tag = uuid.uuid4().int % 10**9
    began = time.monotonic()
    records = out.open("w")

    def record(kind: str, status: int, ms: float) -> None:
        with lock:
            records.write(json.dumps([round(time.monotonic() - began, 3), kind, status, round(ms, 2)]) + "\n")

    def order_and_pay(n: int) -> None:
        auth = {"Content-Type": "application/json"}
        status, data, ms = client.post("/api/v1/orders/", json.dumps(_order_body(f"soak-{tag}-{n}", n)).encode(),
                                       {**auth, "Authorization": f"Bearer {write_key}"})
        record(KINDS[0], status, ms)
        if status != 201:
            return
        order = json.loads(data)
        body = {"amount": order["total"], "currency": "EUR", "payment_reference": f"soak-{tag}-{n}"}
        status, _data, ms = client.post(f"/api/v1/orders/{order['id']}/transitions/pay/", json.dumps(body).encode(),
                                        {**auth, "Authorization": f"Bearer {pay_key}"})
        record(KINDS[1], status, ms)

    def webhook(n: int) -> None:
        body = _webhook_body(10**14 + tag * 10**5 + n, n)
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        status, _data, ms = client.post(f"/webhooks/shopify/{shop}/", body, {
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": f"soak-{tag}-{n}"})
        record(KINDS[2], status, ms)

    schedule = sorted([(i / ORDERS_PER_SECOND, order_and_pay, i) for i in range(int(SECONDS * ORDERS_PER_SECOND))]
                      + [(i / WEBHOOKS_PER_SECOND, webhook, i) for i in range(int(SECONDS * WEBHOOKS_PER_SECOND))],
                      key=lambda item: item[0])
    late = 0.0
    with ThreadPoolExecutor(max_workers=64) as pool:
        for at, job, n in schedule:
            delay = began + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            late = max(late, -delay)
            pool.submit(job, n)
    records.close()
    print(json.dumps({"max_schedule_lag_s": round(late, 3), "keepalive_retries": _Client.retries}), flush=True)


# --- the run: servers, sampling, report ---------------------------------------------------------------------

def _seed() -> tuple[str, str, str]:
    from channels_integration.connectors.setup import channel_set_up
    from channels_integration.models import Channel
    from channels_integration.services import api_key_create
    from inventory.services import sku_upsert, stock_receive, warehouse_upsert

    rest = Channel.objects.filter(code="soak-rest").first() or channel_set_up(code="soak-rest")
    shop = Channel.objects.filter(code="soak-shopify").first() or channel_set_up(
        code="soak-shopify", kind="shopify", currency="EUR", webhook_secret=SECRET)
    warehouse_upsert(code="soak-wh", name="Soak", priority=1)
    for code in SKUS:
        sku_upsert(code=code, name=code, actor="system:soak")
        stock_receive(sku_code=code, warehouse_code="soak-wh", quantity=10_000_000, actor="soak")
    write = api_key_create(channel=rest, scopes=["orders:write", "orders:read"]).secret
    pay = api_key_create(channel=rest, scopes=["payments"]).secret
    return write, pay, shop.code


def _tree_rss_mb(pid: int) -> float:
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return float("nan")
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def p99(values: list[float]) -> float | None:
    """Nearest-rank 99th percentile; None for an empty window."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 99 // 100) - 1)]


def summarise(records: list[list], rss: list[list], *, seconds: float, interval: float) -> dict:
    """Per-interval p99 per kind, drift (last third / first third, first interval excluded) and RSS growth."""
    windows = int(-(-seconds // interval))
    per_kind = {kind: [[] for _ in range(windows)] for kind in KINDS}
    errors = {kind: 0 for kind in KINDS}
    counts = {kind: 0 for kind in KINDS}
    for at, kind, status, ms in records:
        counts[kind] += 1
        if not 200 <= status < 300:
            errors[kind] += 1
            continue
        per_kind[kind][min(int(at // interval), windows - 1)].append(ms)
    third = max(1, (windows - 1) // 3)
    drift = {}
    for kind, buckets in per_kind.items():
        early = [ms for bucket in buckets[1:1 + third] for ms in bucket]
        late = [ms for bucket in buckets[-third:] for ms in bucket]
        first, last = p99(early), p99(late)
        drift[kind] = {"early_p99_ms": first, "late_p99_ms": last,
                       "ratio": last / first if first and last else None}
    growth = {}
    for index, name in ((1, "web"), (2, "worker")):
        settled = next((row[index] for row in rss if row[0] >= interval), rss[0][index] if rss else None)
        final = rss[-1][index] if rss else None
        growth[name] = {"settled_mb": settled, "final_mb": final,
                        "growth_mb": final - settled if final is not None and settled is not None else None}
    return {"series": {kind: [[i * interval, p99(b)] for i, b in enumerate(buckets)] for kind, buckets in
                       per_kind.items()}, "drift": drift, "rss_growth": growth, "counts": counts, "errors": errors}


def plot(summary: dict, rss: list[list], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (top, bottom, load) = plt.subplots(3, 1, figsize=(9, 9), sharex=True,
                                            gridspec_kw={"height_ratios": [3, 3, 1.5]})
    for kind, points in summary["series"].items():
        xs = [x for x, y in points if y is not None]
        top.plot(xs, [y for _x, y in points if y is not None], marker="o", markersize=3, label=kind)
    top.set_ylabel(f"p99 latency per {INTERVAL:g}s window (ms)")
    top.set_yscale("log")
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    bottom.plot([r[0] for r in rss], [r[1] for r in rss], label="gunicorn (master + workers)")
    bottom.plot([r[0] for r in rss], [r[2] for r in rss], label="celery worker + pool, beat")
    bottom.set_ylabel("RSS (MiB)")
    bottom.legend(fontsize=8)
    bottom.grid(alpha=0.3)
    load.plot([r[0] for r in rss], [r[3] for r in rss], color="tab:gray")
    load.set_ylabel("load average (1 min)")
    load.set_xlabel("seconds into the soak")
    load.grid(alpha=0.3)
    fig.suptitle("Soak: p99 latency, memory and machine load over time")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fmt(value, spec: str = ".1f") -> str:
    return "—" if value is None else format(value, spec)


def write_report(run: dict, out: Path) -> None:
    s = run["summary"]
    lines = ["<!-- Generated by `make soak` (bench/soak.py) from bench/results/soak.json; do not edit. -->", "",
             "# Soak", "",
             f"`make soak` holds a fixed open-loop rate of {run['orders_per_second']:g} orders/s (each followed by "
             f"its `pay` transition) and {run['webhooks_per_second']:g} Shopify webhooks/s for {run['seconds']:g} s "
             "against gunicorn and a Celery worker (prefork) + beat with production settings (`bench/settings.py`);"
             " the load comes from a separate Python process. p99 is per "
             f"{run['interval']:g} s window; drift compares the last third of the run with the first third "
             "(first window, the warm-up, excluded).", "",
             f"- Machine: {run['machine']}, shared with other sessions: 1-minute load average "
             f"{min(r[3] for r in run['rss']):.1f}–{max(r[3] for r in run['rss']):.1f} during the run (start "
             f"{run['loadavg_start']}, end {run['loadavg_end']}; plotted below)",
             f"- Run: {run['started_at']}; versions: " + ", ".join(f"{k} {v}" for k, v in run["versions"].items()),
             f"- Load generator's worst lag behind its schedule: {run['max_schedule_lag_s']} s; requests re-sent "
             f"once after gunicorn closed an idle keep-alive connection: {run['keepalive_retries']}",
             f"- Webhook messages still unprocessed when the load stopped: {run['webhook_backlog_at_end']}; "
             f"after the drain: {run['webhook_backlog_after_drain']}", "",
             "| request | sent | non-2xx | p99 first third (ms) | p99 last third (ms) | drift |",
             "|---|---|---|---|---|---|"]
    for kind in KINDS:
        d = s["drift"][kind]
        lines.append(f"| {kind} | {s['counts'][kind]} | {s['errors'][kind]} | {_fmt(d['early_p99_ms'])} | "
                     f"{_fmt(d['late_p99_ms'])} | {_fmt(d['ratio'], '.2f')} |")
    lines += ["", "| process tree | RSS after first window (MiB) | RSS at end (MiB) | growth (MiB) |",
              "|---|---|---|---|"]
    for name, label in (("web", "gunicorn master + workers"), ("worker", "celery worker + pool + beat")):
        g = s["rss_growth"][name]
        lines.append(f"| {label} | {_fmt(g['settled_mb'])} | {_fmt(g['final_mb'])} | {_fmt(g['growth_mb'])} |")
    lines += ["", "![p99 latency per window, RSS and load average over time](img/soak/soak.png)", ""]
    out.write_text("\n".join(lines))


def main() -> int:
    import bench.run as bench_run  # the bench's environment defaults and database preparation

    bench_run._prepare_database()
    from django.conf import settings

    from bench.server import Gunicorn, production_env
    from channels_integration.models import InboundMessage
    from tests.harness.celery_worker import CeleryWorkers, purge_broker, wait_until

    write_key, pay_key, shop = _seed()
    run_dir = ROOT / ".run" / "soak"
    run_dir.mkdir(parents=True, exist_ok=True)
    records_path = run_dir / "records.jsonl"
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    loadavg_start = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    purge_broker(settings.CELERY_BROKER_URL, list(settings.ORDERSYNC_QUEUES))
    workers = CeleryWorkers(run_dir, settings.CELERY_BROKER_URL)
    server = Gunicorn(env={"API_THROTTLE_RATE": "1000000/min"})
    rss: list[list[float]] = []
    mine = InboundMessage.objects.filter(dedupe_key__startswith="soak-")
    backlog_before = mine.filter(state=InboundMessage.State.RECEIVED).count()
    try:
        worker = workers.start(pool="prefork", concurrency=2, env=production_env())
        beat = workers.start_beat(env=production_env())
        generator = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "--load", str(server.port), write_key, pay_key, shop,
             str(records_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        began = time.monotonic()
        while generator.poll() is None:
            # The machine's 1-minute load average beside the memory: other sessions share the 2 cores, and a
            # p99 that rises with it is the machine, not the code.
            rss.append([round(time.monotonic() - began, 1), _tree_rss_mb(server.proc.pid),
                        _tree_rss_mb(worker.proc.pid) + _tree_rss_mb(beat.proc.pid), os.getloadavg()[0]])
            time.sleep(RSS_EVERY)
        generated = json.loads(generator.stdout.read().strip().splitlines()[-1])
        backlog_end = mine.filter(state=InboundMessage.State.RECEIVED).count() - backlog_before
        wait_until(lambda: mine.filter(state=InboundMessage.State.RECEIVED).count() <= backlog_before,
                   timeout=300, interval=1, message="the webhook backlog to drain")
        backlog_drained = mine.filter(state=InboundMessage.State.RECEIVED).count() - backlog_before
    finally:
        server.stop()
        workers.stop_all()
        purge_broker(settings.CELERY_BROKER_URL, list(settings.ORDERSYNC_QUEUES))
    records = [json.loads(line) for line in records_path.read_text().splitlines()]
    summary = summarise(records, rss, seconds=SECONDS, interval=INTERVAL)
    run = {"machine": bench_run.machine(), "versions": bench_run.versions(), "started_at": started_at,
           "loadavg_start": loadavg_start, "seconds": SECONDS,
           "loadavg_end": "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg()),
           "interval": INTERVAL, "orders_per_second": ORDERS_PER_SECOND, "webhooks_per_second": WEBHOOKS_PER_SECOND,
           **generated, "webhook_backlog_at_end": backlog_end,
           "webhook_backlog_after_drain": backlog_drained, "rss": rss, "summary": summary}
    results = BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    (results / "soak.json").write_text(json.dumps(run, indent=1))
    plot(summary, rss, ROOT / "docs" / "img" / "soak" / "soak.png")
    write_report(run, ROOT / "docs" / "SOAK.md")
    print(json.dumps({"drift": summary["drift"], "rss_growth": summary["rss_growth"], "errors": summary["errors"]},
                     indent=1))
    return 0


if __name__ == "__main__":
    # A stopped soak (kill <pid>) still stops the servers it started: SIGTERM unwinds through main's `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if sys.argv[1:2] == ["--load"]:
        port, write_key, pay_key, shop, out = sys.argv[2:7]
        load(int(port), write_key, pay_key, shop, Path(out))
        raise SystemExit(0)
    raise SystemExit(main())
