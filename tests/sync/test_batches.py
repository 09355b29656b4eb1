"""Batched drains: one batch may hold every kind of answer; slow endpoints, concurrency limits, handler endpoints,
two worker hosts and SQLite (`make run`)."""

import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction

from sync.models import Attempt, Delivery, Endpoint, OperatorAlert
from sync.send import send
from sync.services import (
    Declined,
    deliveries_claim,
    deliveries_record,
    deliveries_sweep,
    endpoint_create,
    event_publish,
)
from tests.harness.celery_worker import wait_until
from tests.harness.http_server import Gate, Reply
from tests.sync import worker_handlers
from tests.sync.conftest import WORKER_ENV
from tests.sync.factories import make_endpoint, publish

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def order_of(request) -> int:
    return request.json()["data"]["order_id"]


def test_one_batch_with_success_failure_dead_410_and_a_lost_lease_records_each_on_its_own(
        http_server, celery_workers, sync_settings):
    endpoint, _ = make_endpoint(url=http_server.url("/pay"), retry_schedule=[0, 60])
    answers = {1: 200, 2: Reply(status=500, body=b"x" * 5000), 3: 410, 4: 200, 5: 503}
    http_server.respond_by(lambda request: answers[order_of(request)])
    for order_id in answers:
        publish(order_id=order_id)
    Delivery.objects.filter(event__order_id=5).update(attempts=1)  # its claim makes the last scheduled attempt

    batch = deliveries_claim(endpoint_id=endpoint.pk, limit=10)
    by_order = {claim.event.order_id: claim for claim in batch.claims}
    assert sorted(by_order) == [1, 2, 3, 4, 5] and {c.token for c in batch.claims} == {batch.token}
    results = [(claim, send(claim)) for claim in batch.claims]

    # Order 4's worker is presumed dead: its lease expires, the sweeper takes it back, another worker claims it.
    stolen = by_order[4].delivery.pk
    Delivery.objects.filter(pk=stolen).update(lease_expires_at=batch.claims[0].delivery.leased_at)
    deliveries_sweep()
    second = deliveries_claim(endpoint_id=endpoint.pk, limit=10)
    assert [c.delivery.pk for c in second.claims] == [stolen]

    happened = deliveries_record(batch=batch, results=results)
    assert {by_order_id: happened[claim.delivery.pk] for by_order_id, claim in by_order.items()} == {
        1: "succeeded", 2: "retry", 3: "endpoint disabled", 4: "lease lost", 5: "dead"}
    rows = {d.event.order_id: d for d in Delivery.objects.select_related("event")}
    assert rows[1].state == "succeeded" and rows[1].end_to_end_latency_ms is not None
    assert rows[2].state == "pending" and rows[2].next_attempt_at - rows[2].leased_at >= timedelta(seconds=48)
    assert rows[3].state == "pending" and rows[3].last_status_code == 410
    assert rows[4].state == "in_flight" and rows[4].lease_token == second.token, "the new owner's lease stands"
    assert rows[5].state == "dead" and rows[5].last_status_code == 503
    endpoint.refresh_from_db()
    assert not endpoint.active and "410" in endpoint.disabled_reason
    alerts = set(OperatorAlert.objects.values_list("kind", "delivery__event__order_id"))
    assert alerts == {("endpoint_disabled", None), ("delivery_dead", 5)}
    # Every attempt is logged, the lost one too; only non-2xx answers leave a short excerpt.
    attempts = {a.delivery.event.order_id: a for a in Attempt.objects.select_related("delivery__event")
                .exclude(error__startswith="worker lost")}
    assert len(attempts) == 5 and Attempt.objects.filter(error__startswith="worker lost").count() == 1
    assert attempts[1].response_body == "" and attempts[4].response_body == ""
    assert attempts[2].response_body == "x" * 256

    # The second owner finishes normally, even though the endpoint was disabled after it claimed.
    (claim,) = second.claims
    assert deliveries_record(batch=second, results=[(claim, send(claim))]) == {stolen: "succeeded"}
    assert isinstance(deliveries_claim(endpoint_id=endpoint.pk, limit=10), Declined)


def test_a_slow_endpoint_holds_its_own_slots_not_the_worker(http_server, celery_workers, sweeper):
    celery_workers.start(env=WORKER_ENV)  # one worker process: a blocked drain would stop both endpoints
    slow, _ = make_endpoint(url=http_server.url("/slow"), kind="logistics", read_timeout=60, max_concurrency=2)
    fast, _ = make_endpoint(url=http_server.url("/fast"), kind="logistics")
    gate = Gate()
    http_server.respond(gate, path="/slow")
    for order_id in range(10):
        publish(order_id=order_id)

    wait_until(lambda: Delivery.objects.filter(endpoint=fast, state="succeeded").count() == 10, timeout=30,
               message="the fast endpoint's deliveries while the slow one holds its answers")
    held = http_server.requests_for("/slow")
    assert len(held) == 2, "the slow endpoint has only its two slots in flight"
    assert Delivery.objects.filter(endpoint=slow, state="in_flight").count() == 2
    gate.open()
    wait_until(lambda: Delivery.objects.filter(endpoint=slow, state="succeeded").count() == 10, timeout=60,
               message="the slow endpoint's deliveries once it answers")
    assert http_server.max_in_flight >= 2


def test_the_concurrency_limit_holds_across_two_worker_hosts(http_server, celery_workers, sweeper):
    for _ in range(2):
        celery_workers.start(env=WORKER_ENV, pool="prefork", concurrency=2)
    make_endpoint(url=http_server.url("/pay"), max_concurrency=3)
    http_server.respond(200, delay=0.1)
    with transaction.atomic():
        for order_id in range(40):
            event_publish(topic="order.paid", order_id=order_id, payload={})
    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 40, timeout=60, message="all 40")
    assert http_server.max_in_flight == 3


def test_handler_endpoints_run_concurrently_on_send_threads_using_the_orm(celery_workers, sweeper):
    celery_workers.start(env=WORKER_ENV, include=[worker_handlers.__name__])
    endpoint = endpoint_create(name="orm", kind="notification", handler="tests.orm_reader", topics=["*"],
                               handler_options={"seconds": 0.2}, max_concurrency=4).endpoint
    with transaction.atomic():
        for order_id in range(12):
            event_publish(topic="order.paid", order_id=order_id, payload={})
    wait_until(lambda: Delivery.objects.filter(endpoint=endpoint, state="succeeded").count() == 12, timeout=60,
               message="twelve handler deliveries")
    attempts = list(Attempt.objects.filter(delivery__endpoint=endpoint))
    assert len(attempts) == 12 and {a.response_body for a in attempts} == {"read order.paid"}
    spans = [(a.started_at, a.started_at + timedelta(milliseconds=a.duration_ms)) for a in attempts]
    overlap = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert 2 <= overlap <= 4, f"{overlap} handler calls at once; the limit is 4"


def _drains_that_sent(log: str) -> int:
    return sum(int(n) for n in re.findall(r"endpoint_drain\[[^\]]+\] succeeded in [\d.]+s: 'sent (\d+)", log))


@pytest.mark.slow
def test_two_worker_hosts_share_the_queues_without_double_delivery_or_reordering(http_server, celery_workers,
                                                                                 sweeper):
    env = {**WORKER_ENV, "SYNC_BATCH_SIZE": "4"}  # small batches: many drains for the two hosts to share
    hosts = [celery_workers.start(env=env, pool="prefork", concurrency=2) for _ in range(2)]
    for kind in ("payment", "stock", "logistics", "notification"):
        make_endpoint(url=http_server.url(f"/{kind}"), kind=kind)
    events = []
    topics = ["order.created", "order.paid", "order.fulfilling", "order.shipped", "order.delivered"]
    for round_ in range(5):
        with transaction.atomic():
            events += [event_publish(topic=topics[round_], order_id=order_id, payload={})
                       for order_id in range(40)]
    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 800, timeout=120,
               message="800 deliveries by two hosts")

    requests = http_server.requests_for()
    assert len(requests) == 800 == len({(r.path, r.webhook_id) for r in requests}), "nothing was sent twice"
    per_stream = defaultdict(list)
    for request in requests:
        per_stream[request.path, order_of(request)].append(request.json()["data"]["sequence"])
    assert all(seq == [1, 2, 3, 4, 5] for seq in per_stream.values()), "every order in sequence per endpoint"
    # A drain records its results before its task returns and logs "succeeded": the last lines may trail the rows.
    def sent():
        return [_drains_that_sent(host.log()) for host in hosts]
    wait_until(lambda: sum(sent()) >= 800, timeout=30, message="every send logged by the drain that made it")
    assert all(sent()) and sum(sent()) == 800, f"each host delivered a share: {sent()}"


def test_the_engine_runs_on_sqlite_for_make_run(http_server, tmp_path):
    """`make run` uses SQLite: the claim statement, the record and the sweep must work there too."""
    http_server.respond_by(lambda request: 500 if order_of(request) == 1 else None)
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        "from django.db import transaction\n"
        "from sync.models import Delivery\n"
        "from sync.services import endpoint_create, event_publish, endpoint_drain, deliveries_sweep\n"
        f"e = endpoint_create(name='x', kind='payment', url='{http_server.url('/x')}', topics=['*'],"
        " retry_schedule=[0, 60]).endpoint\n"
        "for order_id in (0, 0, 1, 2):\n"
        "    with transaction.atomic():\n"
        "        event_publish(topic='order.paid', order_id=order_id, payload={})\n"
        "print(endpoint_drain(endpoint_id=e.pk, kind='payment'))\n"
        "print(sorted(Delivery.objects.values_list('event__order_id', 'sequence', 'state')))\n"
        "print(deliveries_sweep())\n"
    )
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "CELERY_BROKER_URL": "memory://",
           "DJANGO_SETTINGS_MODULE": "ordersync.settings.test"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    drained, states, swept = out.stdout.strip().splitlines()[-3:]
    assert drained.startswith("sent 4;")
    assert states == str([(0, 1, "succeeded"), (0, 2, "succeeded"), (1, 1, "pending"), (2, 1, "succeeded")])
    assert swept == "0", "nothing is due: the retry is a minute away"
    assert len(http_server.requests) == 4
    assert not Endpoint.objects.exists(), "the script used its own SQLite database"
