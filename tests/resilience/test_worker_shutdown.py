"""Workers leaving and sharing: a warm shutdown (SIGTERM, as a deploy or an autoscaler sends) of the only worker in
the middle of a burst, then a fresh worker; and two worker hosts consuming the same queues during a run."""

import os
import re
import signal
import threading

import pytest

from tests.harness.celery_worker import wait_until
from tests.harness.http_server import Reply
from tests.resilience.conftest import WORKER_ENV, bodies, make_shop, settled, start_worker_host, subscribe
from tests.resilience.invariants import check_invariants
from tests.resilience.test_worker_kills import cancel_some

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]

DRAINED = re.compile(r"Task sync\.tasks\.endpoint_drain\[[^\]]+\] succeeded in [^:]+: 'sent [1-9]")


def test_warm_shutdown_mid_burst_then_a_fresh_worker_loses_and_strands_nothing(
        http_server, celery_workers, web_servers, stocked):
    subscribe(http_server, "/pay", "/stock")
    http_server.respond(Reply(delay=0.05))  # deliveries take a moment, so the TERM finds some mid-send
    first = start_worker_host(celery_workers, "host-a", env=WORKER_ENV)
    celery_workers.start_beat(env=WORKER_ENV)
    web = web_servers()
    shop = make_shop(web.base)
    stopped = threading.Event()

    def warm_shutdown():
        http_server.wait_for_requests(60, timeout=60)
        os.kill(first.proc.pid, signal.SIGTERM)  # the main process only: it finishes what it runs, then exits
        first.proc.wait(timeout=60)
        stopped.set()

    terminator = threading.Thread(target=warm_shutdown)
    terminator.start()
    orders = shop.run_orders(bodies(32, "warm"), threads=4, plan=cancel_some)
    terminator.join(90)
    assert stopped.is_set() and first.proc.returncode == 0, "the worker exited on its own, cleanly"
    assert "Warm shutdown" in first.log() or "warm shutdown" in first.log().lower()
    sent_before = len(http_server.requests)
    # Orders placed after the stop wait in the outbox; nothing consumes until the next worker comes.
    orders += shop.run_orders(bodies(8, "after"), threads=4, plan=cancel_some)
    start_worker_host(celery_workers, "host-b", env=WORKER_ENV)
    wait_until(settled, timeout=90, interval=0.3, message="every delivery after the warm shutdown")

    report = check_invariants(receivers=[http_server])
    assert report.counts["orders"] == len(orders) == 40
    # cancel_some cancels every fifth of each run (7 of 32, 2 of 8): 31 x 5 events + 9 x 2, to both endpoints.
    assert (report.counts["orders_delivered"], report.counts["orders_cancelled"]) == (31, 9)
    assert report.counts["deliveries_succeeded"] == 2 * (31 * 5 + 9 * 2)
    assert len(http_server.requests) > sent_before, "the fresh worker delivered what was left"
    print(f"{sent_before} requests before the TERM finished, {len(http_server.requests)} in all; {report}")


def test_two_worker_hosts_sharing_the_queues_deliver_each_effect_once_in_order(
        http_server, celery_workers, web_servers, stocked):
    subscribe(http_server, "/pay", "/stock", "/ship")
    hosts = [start_worker_host(celery_workers, name, env=WORKER_ENV) for name in ("host-a", "host-b")]
    celery_workers.start_beat(env=WORKER_ENV)
    web = web_servers()
    shop = make_shop(web.base)
    orders = shop.run_orders(bodies(40, "two"), threads=6, plan=cancel_some)
    wait_until(settled, timeout=90, interval=0.3, message="every delivery with two worker hosts")

    report = check_invariants(receivers=[http_server])
    assert report.counts["orders"] == len(orders) == 40
    assert report.counts["deliveries_succeeded"] == 3 * (32 * 5 + 8 * 2)
    drains = [len(DRAINED.findall(host.log())) for host in hosts]
    assert all(drains), f"both hosts delivered: drains that sent something per host {drains}"
    print(f"drains that sent per host {drains}; {report}")
