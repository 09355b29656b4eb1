"""Faults between the worker and the endpoints while orders flow: a TCP proxy adds latency, resets answers
mid-way, black-holes and refuses connections; another endpoint answers 500s, 429 with Retry-After, hangs past the
read timeout and garbage bodies; a third answers 410 Gone. Every effect still lands exactly once, in order."""

import threading
import time
import zlib

import pytest

from sync.models import Delivery, Endpoint, OperatorAlert
from tests.harness.celery_worker import wait_until
from tests.harness.http_server import Hang, Reply
from tests.resilience.conftest import FAST, WORKER_ENV, bodies, make_shop, settled
from tests.resilience.invariants import PARKED, check_invariants
from tests.sync.factories import make_endpoint

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]

FIRST_ANSWERS = [
    Reply(status=500, body=b"Internal Server Error"),
    Reply(status=429, headers={"Retry-After": "1"}),
    Hang(seconds=1.6),  # read timeout is 1 s
    Reply(status=502, body=b"\x00\xff<html>garbage"),
]


def test_network_and_endpoint_faults_lose_and_duplicate_nothing(
        http_server, celery_workers, web_servers, proxies, stocked):
    proxy = proxies((http_server.host, http_server.port))
    via_proxy = make_endpoint(url=f"http://{proxy.host}:{proxy.port}/net", kind="payment", **FAST)[0]
    faulty = make_endpoint(url=http_server.url("/faulty"), kind="stock", **FAST)[0]
    gone = make_endpoint(url=http_server.url("/gone"), kind="logistics", **FAST)[0]
    attempts: dict[str, int] = {}
    lock = threading.Lock()

    def decide(request):
        if request.path == "/gone":
            return 410
        if request.path != "/faulty":
            return None
        with lock:
            attempts[request.webhook_id] = attempts.get(request.webhook_id, 0) + 1
            first = attempts[request.webhook_id] == 1
        if first:  # every event fails once, in one of four ways; the retry gets a 2xx with a non-JSON body
            return FIRST_ANSWERS[zlib.crc32(request.webhook_id.encode()) % len(FIRST_ANSWERS)]
        return Reply(status=200, body=b"<html>ok, not json</html>")

    http_server.respond_by(decide)
    celery_workers.start(env=WORKER_ENV, pool="prefork", concurrency=2)
    celery_workers.start_beat(env=WORKER_ENV)
    web = web_servers()
    shop = make_shop(web.base)
    phases = []

    def network_faults():
        for name, start in (("latency", lambda: setattr(proxy, "latency", 0.3)),
                            ("resets", lambda: proxy.reset_responses(6)),
                            ("blackhole", proxy.blackhole),
                            ("refused", proxy.cut)):
            start()
            phases.append(name)
            time.sleep(3)
            if name == "resets":  # the phase lasts until six answers were cut, however fast deliveries flow now
                wait_until(lambda: proxy.resets == 6, timeout=60, message="six answers cut by the proxy")
            proxy.restore()
            time.sleep(1)

    faults = threading.Thread(target=network_faults)
    faults.start()
    orders = []
    while faults.is_alive() or len(orders) < 16:  # orders flow during every phase, not only the first ones
        orders += shop.run_orders(bodies(4, f"net{len(orders)}"), threads=2)
    faults.join(60)
    wait_until(settled, timeout=120, interval=0.3, message="every delivery through the faults")

    report = check_invariants(receivers=[http_server], settled={PARKED}, proxied={proxy.port: http_server.port})
    assert phases == ["latency", "resets", "blackhole", "refused"]
    assert proxy.resets == 6
    events = len(orders) * 5
    assert Delivery.objects.filter(endpoint=via_proxy, state="succeeded").count() == events
    assert Delivery.objects.filter(endpoint=faulty, state="succeeded").count() == events
    assert all(n == 2 for n in attempts.values()) and len(attempts) == events, "one failure, one success each"
    gone.refresh_from_db()
    assert not gone.active and "410" in gone.disabled_reason
    assert OperatorAlert.objects.filter(endpoint=gone, kind=OperatorAlert.Kind.ENDPOINT_DISABLED).exists()
    # Sends already in flight when the first 410 came back may still arrive; nothing is sent after the disable.
    assert all(r.received_at <= gone.disabled_at.timestamp() + 1 for r in http_server.requests_for("/gone"))
    assert not Endpoint.objects.filter(active=False).exclude(pk=gone.pk).exists(), "faults did not disable others"
    print(f"{len(orders)} orders; {report}")
