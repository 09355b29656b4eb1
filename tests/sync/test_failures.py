"""Each failure answer leads to its documented behaviour; a real worker performs every attempt."""

from datetime import timedelta

import pytest

from sync.models import Delivery, Endpoint, OperatorAlert
from tests.harness.celery_worker import wait_until
from tests.harness.http_server import CLOSE, Hang
from tests.sync.factories import make_endpoint, publish

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]

SHORT = [0, 0.3, 0.3]  # three attempts, a third of a second apart


def settled(state: str):
    return lambda: Delivery.objects.filter(state=state).first()


def test_500_is_retried_on_the_schedule_until_it_succeeds(http_server, sync_worker, sweeper):
    endpoint, _ = make_endpoint(url=http_server.url("/pay"), retry_schedule=SHORT)
    http_server.respond_sequence("/pay", [500, 503])
    publish()
    delivery = wait_until(settled("succeeded"), message="success on the third attempt")
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 503, 200]
    assert delivery.attempts == 3
    assert len({r.webhook_id for r in http_server.requests}) == 1 and len(http_server.requests) == 3


def test_delivery_that_exhausts_its_schedule_is_dead_with_an_operator_alert(http_server, sync_worker, sweeper):
    endpoint, _ = make_endpoint(url=http_server.url("/pay"), retry_schedule=SHORT)
    http_server.respond(500)
    publish()
    delivery = wait_until(settled("dead"), message="a dead delivery")
    assert delivery.attempts == 3 and delivery.last_status_code == 500
    alert = OperatorAlert.objects.get(kind=OperatorAlert.Kind.DELIVERY_DEAD)
    assert alert.delivery == delivery and alert.endpoint == endpoint and alert.resolved_at is None
    assert len(http_server.requests) == 3


def test_connection_refused_is_recorded_and_retried(refused_url, sync_worker, sweeper):
    make_endpoint(url=refused_url, retry_schedule=[0, 0.2])
    publish()
    delivery = wait_until(settled("dead"), message="dead after two refused attempts")
    errors = [a.error for a in delivery.attempt_log.all()]
    assert len(errors) == 2 and all("ConnectError" in e for e in errors)
    assert all(a.status_code is None for a in delivery.attempt_log.all())


def test_closed_connection_is_a_failed_attempt(http_server, sync_worker, sweeper):
    make_endpoint(url=http_server.url("/pay"), retry_schedule=SHORT)
    http_server.respond_sequence("/pay", [CLOSE])
    publish()
    delivery = wait_until(settled("succeeded"), message="success after a dropped connection")
    first, second = delivery.attempt_log.all()
    assert first.status_code is None and first.error and second.status_code == 200


def test_timeout_waits_at_least_a_minute(http_server, sync_worker):
    make_endpoint(url=http_server.url("/pay"), retry_schedule=SHORT, read_timeout=0.3)
    http_server.respond(Hang(seconds=2))
    publish()
    delivery = wait_until(lambda: Delivery.objects.filter(state="pending", attempts=1).first(), message="a retry")
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "timeout" in attempt.error
    assert delivery.next_attempt_at - attempt.started_at >= timedelta(seconds=60)


def test_429_honours_retry_after(http_server, sync_worker):
    make_endpoint(url=http_server.url("/pay"), retry_schedule=SHORT)
    http_server.respond(429, headers={"Retry-After": "180"})
    publish()
    delivery = wait_until(lambda: Delivery.objects.filter(state="pending", attempts=1).first(), message="a retry")
    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 429
    assert delivery.next_attempt_at - attempt.started_at >= timedelta(seconds=180)
    assert delivery.next_attempt_at - attempt.started_at < timedelta(seconds=190)


def test_429_without_retry_after_still_waits_a_minute(http_server, sync_worker):
    make_endpoint(url=http_server.url("/pay"), retry_schedule=SHORT)
    http_server.respond(429)
    publish()
    delivery = wait_until(lambda: Delivery.objects.filter(state="pending", attempts=1).first(), message="a retry")
    assert delivery.next_attempt_at - delivery.attempt_log.get().started_at >= timedelta(seconds=60)


def test_retry_after_on_503_is_honoured(http_server, sync_worker):
    make_endpoint(url=http_server.url("/pay"), retry_schedule=SHORT)
    http_server.respond(503, headers={"Retry-After": "30"})
    publish()
    delivery = wait_until(lambda: Delivery.objects.filter(state="pending", attempts=1).first(), message="a retry")
    assert delivery.next_attempt_at - delivery.attempt_log.get().started_at >= timedelta(seconds=30)


def test_410_disables_the_endpoint_and_alerts(http_server, sync_worker, sweeper):
    endpoint, _ = make_endpoint(url=http_server.url("/pay"), retry_schedule=SHORT)
    http_server.respond(410)
    publish(order_id=1)
    wait_until(lambda: not Endpoint.objects.get(pk=endpoint.pk).active, message="endpoint disabled")
    endpoint.refresh_from_db()
    assert "410" in endpoint.disabled_reason and endpoint.disabled_at is not None
    assert OperatorAlert.objects.filter(kind=OperatorAlert.Kind.ENDPOINT_DISABLED, endpoint=endpoint).exists()
    delivery = Delivery.objects.get()
    assert delivery.state == "pending" and delivery.attempts == 1
    # A disabled endpoint gets no new deliveries and its waiting one is not sent again.
    publish(order_id=2)
    assert Delivery.objects.count() == 1
    assert len(http_server.requests) == 1


def test_redirect_is_not_followed(http_server, sync_worker, sweeper):
    make_endpoint(url=http_server.url("/pay"), retry_schedule=[0])
    http_server.respond(302, path="/pay", headers={"Location": http_server.url("/elsewhere")})
    publish()
    delivery = wait_until(settled("dead"), message="a 302 counted as failure")
    assert delivery.last_status_code == 302
    assert [r.path for r in http_server.requests] == ["/pay"]
