import pytest

from sync.models import Attempt, Delivery, Endpoint, OperatorAlert
from tests.harness.celery_worker import wait_until
from tests.sync.conftest import WORKER_ENV
from tests.sync.factories import make_endpoint, publish

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]


def test_consecutive_failures_pause_the_endpoint_and_a_probe_resumes_it(http_server, celery_workers, sweeper):
    celery_workers.start(env={**WORKER_ENV, "SYNC_BREAKER_THRESHOLD": "2", "SYNC_BREAKER_PAUSE_SECONDS": "1"})
    endpoint, _ = make_endpoint(url=http_server.url("/pay"), retry_schedule=[0, 0.1, 0.1, 0.1, 0.1])
    http_server.respond_sequence("/pay", [500] * 4)  # the first batch: the heads of all four orders
    for order_id in range(4):
        publish(order_id=order_id)

    alert = wait_until(lambda: OperatorAlert.objects.filter(kind=OperatorAlert.Kind.ENDPOINT_PAUSED).first(),
                       message="the breaker to open")
    assert alert.endpoint == endpoint
    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 4, message="all delivered after")
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.paused_until is None
    last_failure, probe = http_server.requests[3], http_server.requests[4]
    assert probe.received_at - last_failure.received_at >= 0.9, "nothing was sent while the breaker was open"
    # After the probe, one at a time, succeeded, the backlog went out: 4 failures, the probe, 3 more.
    assert len(http_server.requests) == 8


def test_rate_limit_is_shared_by_all_worker_processes(http_server, celery_workers, sweeper):
    celery_workers.start(env=WORKER_ENV, pool="prefork", concurrency=2)
    make_endpoint(url=http_server.url("/pay"), rate_limit=5)
    for order_id in range(8):
        publish(order_id=order_id)
    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 8, message="all eight delivered")
    times = sorted(r.received_at for r in http_server.requests)
    # Slots are 0.2 s apart (1.4 s for 8); unlimited, two processes send them all within ~0.1 s. The margins
    # absorb scheduling noise between a slot and the request reaching the server (a cold first send may be late).
    assert times[-1] - times[1] >= 0.9, "8 requests at 5/s span about 1.4 s"
    # When each send began (after waiting for its slot): what the limiter grants, without the network's jitter.
    # Slots are exactly 1/5 s apart, so a one-second window can hold five plus the slot on its edge.
    starts = sorted(a.started_at.timestamp() for a in Attempt.objects.all())
    busiest = max(sum(1 for t in starts if start <= t < start + 1) for start in starts)
    assert busiest <= 6, f"{busiest} sends began within one second at 5/s"
    assert Endpoint.objects.get().rate_slot_at is not None
