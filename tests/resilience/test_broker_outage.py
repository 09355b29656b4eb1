"""Redis, the broker, restarts and then stays unreachable for 30 s while orders keep coming over REST: the API keeps
accepting them (the outbox holds what the broker cannot take), and once Redis is back the same worker consumes
again and every delivery catches up.

Redis here is a private redis-server (tests/harness/celery_worker.py::RedisServer) used by web, worker, beat and
this process; the shared one is never touched. It runs without persistence, so each restart loses what was queued.
"""

import threading
import time

import pytest

from tests.harness.celery_worker import use_broker, wait_until
from tests.harness.http_server import Reply
from tests.resilience.conftest import WORKER_ENV, bodies, make_shop, settled, subscribe
from tests.resilience.invariants import check_invariants

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 30  # the case


class OrderStream:
    """Places and walks orders in rounds from a background thread until stopped, noting when each was placed."""

    def __init__(self, shop):
        self.shop, self.orders, self.placed_at = shop, [], []
        self._stop = threading.Event()
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "OrderStream":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                batch = self.shop.run_orders(bodies(4, f"bo{len(self.orders)}"), threads=2)
                self.orders += batch
                self.placed_at += [time.monotonic()] * len(batch)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread by stop()
            self.failure = exc

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(60)
        if self.failure:
            raise self.failure
        return self.orders


def test_redis_restart_and_30s_outage_the_api_accepts_orders_and_deliveries_catch_up(
        http_server, celery_workers, web_servers, private_redis, stocked):
    celery_workers.broker_url = private_redis.url
    subscribe(http_server, "/pay", "/stock")
    # Endpoints answer in 0.2 s, like remote ones: when Redis goes, tasks are mid-send and finish (ack) after.
    http_server.respond(Reply(delay=0.2))
    with use_broker(private_redis.url):
        worker = celery_workers.start(env=WORKER_ENV, pool="prefork", concurrency=2)
        celery_workers.start_beat(env=WORKER_ENV)
        web = web_servers(broker_url=private_redis.url)
        shop = make_shop(web.base)
        stream = OrderStream(shop).start()
        wait_until(lambda: len(stream.orders) >= 8, timeout=60, message="orders before the restart")
        private_redis.restart()
        wait_until(lambda: len(stream.orders) >= 16, timeout=60, message="orders after the restart")

        private_redis.stop()
        down_from = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        down_until = time.monotonic()
        private_redis.start()
        wait_until(lambda: sum(t > down_until for t in stream.placed_at) >= 8, timeout=60,
                   message="orders after the outage")
        orders = stream.stop()
        pids = (web.pids, worker.proc.pid)
        wait_until(settled, timeout=120, interval=0.5, message="every delivery after the broker came back")

    during = sum(down_from < t <= down_until for t in stream.placed_at)
    assert during > 0, "orders were placed and walked while Redis was down"
    assert not any(isinstance(k, int) and k >= 500 for k in shop.answers), shop.answers
    assert not any(str(k).startswith("error:") for k in shop.answers), shop.answers
    assert (web.pids, worker.proc.pid) == pids and worker.running, "no process was restarted"
    report = check_invariants(receivers=[http_server])
    assert report.counts["orders"] == len(orders) == report.counts["orders_delivered"]
    # Each order's 5 events (created, paid, fulfilling, shipped, delivered) to each of the two endpoints.
    assert report.counts["deliveries_succeeded"] == 2 * 5 * len(orders)
    print(f"{len(orders)} orders, {during} completed during the {OUTAGE_SECONDS} s outage; "
          f"answers {dict(shop.answers)}; {report}")
