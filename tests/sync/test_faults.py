"""Fault injection: SIGKILLed workers and a restarted broker lose nothing and duplicate nothing in effect."""

import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import Count

from sync.models import Delivery, Event
from sync.services import event_publish
from tests.harness.celery_worker import wait_until
from tests.resilience.invariants import check_invariants
from tests.sync.conftest import BROKERS, WORKER_ENV
from tests.sync.factories import make_endpoint, publish

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]

FAST_LEASE = {"connect_timeout": 0.5, "read_timeout": 1.0}  # + 0.5 s margin: a lost lease expires in 2 s


def assert_exactly_once_in_order(server, events, *, endpoints: int = 1):
    """The shared invariant checker (tests/resilience): deduplicating on webhook-id each receiver saw each event
    once and each stream in order, and no delivery is left open."""
    report = check_invariants(receivers=[server])
    assert report.counts["received_effects"] == endpoints * len(events)


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_worker_killed_mid_delivery_is_completed_by_the_beat_sweeper(http_server, celery_workers, broker):
    make_endpoint(url=http_server.url("/pay"), **FAST_LEASE)
    worker = celery_workers.start(env=WORKER_ENV)
    celery_workers.start_beat(env={**WORKER_ENV, "SYNC_SWEEP_INTERVAL_SECONDS": "1"})
    killed = threading.Event()

    def kill_on_first_request(request):
        if not killed.is_set():
            killed.set()
            worker.kill()  # the worker is blocked in this very HTTP request

    http_server.on_request(kill_on_first_request)
    event = publish()
    wait_until(killed.is_set, message="the kill")
    delivery = Delivery.objects.get()
    assert delivery.state == "in_flight" and delivery.lease_expires_at is not None
    worker.start()

    wait_until(lambda: Delivery.objects.filter(state="succeeded").exists(), timeout=30, message="recovery")
    delivery.refresh_from_db()
    lost, ok = delivery.attempt_log.all()
    assert "worker lost" in lost.error and ok.status_code == 200
    assert [r.webhook_id for r in http_server.requests] == [str(event.pk)] * 2
    check_invariants(receivers=[http_server])


@pytest.mark.slow
@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_500_events_with_random_sigkills_arrive_exactly_once_in_order(http_server, celery_workers, broker, sweeper):
    rng = random.Random(5)
    make_endpoint(url=http_server.url("/pay"), kind="payment", **FAST_LEASE)
    make_endpoint(url=http_server.url("/stock"), kind="stock", **FAST_LEASE)
    worker = celery_workers.start(env=WORKER_ENV, pool="prefork", concurrency=2)
    kill_at = set(rng.sample(range(50, 950), 8))  # request numbers at which the worker dies mid-request
    seen = {"n": 0}
    lock = threading.Lock()

    def maybe_kill(request):
        with lock:
            seen["n"] += 1
            hit = seen["n"] in kill_at
        if hit:
            worker.kill()

    http_server.on_request(maybe_kill)
    topics = ["order.created", "order.paid", "order.fulfilling", "order.shipped", "order.delivered"]
    events = []
    for batch in range(10):  # 100 orders x 5 events, published while the worker runs
        with transaction.atomic():
            for order_id in range(batch * 10, batch * 10 + 10):
                for topic in topics:
                    events.append(event_publish(topic=topic, order_id=order_id, payload={"batch": batch}))

    def all_done():
        if not worker.running:
            worker.start()
        return Delivery.objects.filter(state="succeeded").count() == 1000

    started = time.monotonic()
    try:
        # ~45 s on an idle 2-core machine; the deadline only matters when other suites load it heavily.
        wait_until(all_done, timeout=150, interval=0.2, message="1000 deliveries through the kills")
    except AssertionError as exc:
        states = dict(Delivery.objects.values_list("state").annotate(n=Count("pk")))
        waiting = list(Delivery.objects.filter(state="pending").values_list("attempts", "last_error",
                                                                          "next_attempt_at")[:5])
        detail = (f"states {states}, {worker.kills} kills, {len(http_server.requests)} requests; pending "
                  f"(attempts, last error, next attempt) {waiting}")
        raise AssertionError(f"{exc}; {detail}") from exc
    print(f"1000 deliveries with {worker.kills} kills in {time.monotonic() - started:.1f}s")
    assert worker.kills >= len(kill_at) - 1, "the kills happened mid-delivery"
    assert len(http_server.requests) > 1000, "some deliveries were cut off and re-sent"
    assert_exactly_once_in_order(http_server, events, endpoints=2)


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_broker_restart_during_a_run_loses_nothing(http_server, celery_workers, broker, sweeper):
    """Redis runs without persistence, so everything queued in it is gone with the restart; RabbitMQ keeps its
    durable queues but drops every connection. Either way the outbox and the sweeper deliver all of it."""
    make_endpoint(url=http_server.url("/pay"), **FAST_LEASE)
    worker = celery_workers.start(env=WORKER_ENV)
    events = []
    for batch in range(20):
        if batch == 10:
            broker.restart()
        with transaction.atomic():
            events += [event_publish(topic="order.paid", order_id=order_id, payload={"batch": batch})
                       for order_id in range(10)]
    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 200, timeout=90,
               message="every delivery after the broker restart")
    assert worker.running
    assert broker.reconnects_logged(worker.log()) >= 2, "the worker lost the broker and reconnected"
    assert Event.objects.count() == 200
    assert_exactly_once_in_order(http_server, events)
    connection.close()
