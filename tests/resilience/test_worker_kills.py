"""SIGKILL of the worker's pool processes and of its main process, again and again, while orders flow in over REST."""

import os
import signal
import threading

import pytest

from tests.harness.celery_worker import wait_until
from tests.harness.gunicorn import children_of
from tests.resilience.conftest import WORKER_ENV, bodies, make_shop, settled, subscribe
from tests.resilience.invariants import check_invariants

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]


def cancel_some(index: int):
    return ("cancel",) if index % 5 == 0 else ("pay", "start_fulfilment", "ship", "deliver")


def test_orders_survive_repeated_sigkills_of_pool_and_main_worker_processes(
        http_server, celery_workers, web_servers, stocked):
    subscribe(http_server, "/pay", "/stock")
    worker = celery_workers.start(env=WORKER_ENV, pool="prefork", concurrency=2)
    celery_workers.start_beat(env=WORKER_ENV)
    web = web_servers()
    shop = make_shop(web.base)
    kills = {"pool": 0, "main": 0}
    lock = threading.Lock()
    seen = {"n": 0}
    # Request numbers at which the sender dies mid-request: its pool processes (the main process forks new
    # ones), or the whole worker, main process and pool at once, like an OOM kill.
    pool_kills, main_kills = {20, 70, 140, 230}, {45, 110, 190}

    def kill_mid_request(request):
        with lock:
            seen["n"] += 1
            n = seen["n"]
        if n in pool_kills and worker.running:
            for pid in children_of(worker.proc.pid):
                os.kill(pid, signal.SIGKILL)
            kills["pool"] += 1
        elif n in main_kills:
            worker.kill()
            kills["main"] += 1
            threading.Timer(0.5, worker.start, kwargs={"wait": False}).start()

    http_server.on_request(kill_mid_request)
    orders = shop.run_orders(bodies(40, "kill"), threads=4, plan=cancel_some)
    wait_until(lambda: worker.running, timeout=10, message="the restarted worker")
    wait_until(settled, timeout=90, interval=0.3, message="every delivery after the kills")
    assert kills == {"pool": len(pool_kills), "main": len(main_kills)}, kills
    report = check_invariants(receivers=[http_server])
    assert report.counts["orders"] == len(orders) == 40
    assert report.counts["orders_delivered"] == 32 and report.counts["orders_cancelled"] == 8
    # 32 orders x 5 events + 8 x 2, to each of two endpoints.
    assert report.counts["deliveries_succeeded"] == 2 * (32 * 5 + 8 * 2)
    assert report.counts["received_requests"] > report.counts["received_effects"], "cut-off requests were re-sent"
    print(f"kills {kills}, {len(http_server.requests)} requests for {report.counts['received_effects']} effects")
