"""PostgreSQL goes away mid-run and comes back: the API answers 503 `database_unavailable` meanwhile, and the same
web and worker processes carry on afterwards.

The shared PostgreSQL must never be stopped, so the outage is made at the network level: web and worker reach
the database only through a TCP proxy, which resets every open connection and refuses new ones (what clients see
when the server restarts) and later forwards again.
"""

import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.harness import celery_worker as harness
from tests.harness.celery_worker import wait_until
from tests.resilience.conftest import WORKER_ENV, bodies, make_shop, settled, subscribe
from tests.resilience.invariants import check_invariants

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]


def through(proxy, url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.username or ''}@{proxy.host}:{proxy.port}").geturl()


def test_database_outage_is_503_and_web_and_worker_recover_without_a_restart(
        http_server, celery_workers, web_servers, proxies, stocked):
    database = urlsplit(harness.test_database_url())
    proxy = proxies((database.hostname, database.port))
    proxied = through(proxy, harness.test_database_url())
    subscribe(http_server, "/pay")
    worker = celery_workers.start(env={**WORKER_ENV, "DATABASE_URL": proxied})
    celery_workers.start_beat(env=WORKER_ENV)
    web = web_servers(database_url=proxied)
    shop = make_shop(web.base)
    before = shop.run_orders(bodies(5, "before"), threads=2)
    pids = (web.pids, worker.proc.pid)

    proxy.cut()
    down = [shop.post("/api/v1/orders/", body) for body in bodies(6, "down")]
    ready = requests.get(web.base + "/readyz", timeout=10)
    time.sleep(2)  # the outage lasts: the worker's drains and the beat's sweeps fail meanwhile
    proxy.restore()

    for response in down:
        assert response.status_code == 503, (response.status_code, response.text[:300])
        assert response.json()["code"] == "database_unavailable" and response.json()["detail"]
        assert response.headers["Retry-After"] == "5"
    assert ready.status_code == 503 and "database" in ready.text
    after = shop.run_orders(bodies(6, "down"), threads=2)  # the refused orders, sent again, now land
    assert [o["external_id"] for o in after] == [f"down-{i}" for i in range(6)]
    assert (web.pids, worker.proc.pid) == pids and worker.running, "no process was restarted"
    wait_until(settled, timeout=60, interval=0.3, message="deliveries after the outage")
    report = check_invariants(receivers=[http_server])
    assert report.counts["orders"] == len(before) + len(after) == 11
    assert report.counts["orders_delivered"] == 11
