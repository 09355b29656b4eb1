"""Outbox services without a worker: publishing, endpoint checks, retry arithmetic, replay, cancel, retention."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sync.models import Attempt, Delivery, DrainNudge, Endpoint, Event, OperatorAlert
from sync.retry import parse_retry_after, retry_delay
from sync.routing import route_task
from sync.services import (
    EventSpec,
    attempts_prune,
    deliveries_cancel,
    deliveries_replay,
    deliveries_sweep,
    endpoint_create,
    endpoint_enable,
    event_publish,
    event_publish_many,
)
from tests.harness.celery_worker import all_queues, purge_broker
from tests.sync.factories import make_endpoint, publish

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_is_refused():
    make_endpoint(url="http://127.0.0.1:9/x")
    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_publish(topic="order.paid", order_id=1, payload={})
    assert not Event.objects.exists()


def test_publish_creates_one_delivery_per_subscribed_active_endpoint_with_sequence_per_order():
    paid, _ = make_endpoint(url="http://127.0.0.1:9/a", topics=["order.paid"])
    every, _ = make_endpoint(url="http://127.0.0.1:9/b", kind="stock", topics=["*"])
    off, _ = make_endpoint(url="http://127.0.0.1:9/c", topics=["order.*"])
    Endpoint.objects.filter(pk=off.pk).update(active=False)
    first = publish("order.created", order_id=3)
    second = publish("order.paid", order_id=3)
    other = publish("order.paid", order_id=4)
    assert (first.sequence, second.sequence, other.sequence) == (1, 2, 1)
    assert set(Delivery.objects.filter(event=second).values_list("endpoint", flat=True)) == {paid.pk, every.pk}
    assert list(Delivery.objects.filter(event=first).values_list("endpoint", flat=True)) == [every.pk]


def test_rolled_back_publish_leaves_no_rows():
    make_endpoint(url="http://127.0.0.1:9/a")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        event_publish(topic="order.paid", order_id=1, payload={})
        1 / 0  # noqa: B018
    assert not Event.objects.exists() and not Delivery.objects.exists()


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "http://169.254.169.254/latest", "http://127.0.0.1:8000/x",
                                 "http://[::1]/x", "http://192.168.1.1/x"])
def test_private_and_link_local_urls_are_refused_unless_allowed(settings, url):
    settings.SYNC_ALLOW_PRIVATE_ENDPOINTS = False
    with pytest.raises(ValidationError, match="private or link-local"):
        endpoint_create(name="x", kind="payment", url=url, topics=["*"])
    assert not Endpoint.objects.exists()


def test_public_address_is_accepted_and_secret_generated(settings):
    settings.SYNC_ALLOW_PRIVATE_ENDPOINTS = False
    created = endpoint_create(name="psp", kind="payment", url="https://93.184.216.34/hook", topics=["order.paid"])
    assert created.secret.startswith("whsec_") and created.endpoint.secret == created.secret


@pytest.mark.parametrize(("field", "kwargs"), [
    ("url", {"url": "ftp://example.com/x"}),
    ("kind", {"kind": "fax"}),
    ("topics", {"topics": [" "]}),
    ("rate_limit", {"rate_limit": 0}),
    ("retry_schedule", {"retry_schedule": [-1]}),
])
def test_endpoint_create_names_the_bad_field(field, kwargs):
    args = {"name": "e", "kind": "payment", "url": "http://127.0.0.1/x", "topics": ["*"], **kwargs}
    with pytest.raises(ValidationError) as info:
        endpoint_create(**args)
    assert field in info.value.message_dict


def test_retry_delay_follows_the_schedule_with_jitter_and_floors():
    endpoint = Endpoint(retry_schedule=[0, 100, 1000])
    delays = [retry_delay(endpoint=endpoint, attempts=1, throttled=False, retry_after=None) for _ in range(200)]
    assert 80 <= min(delays) < max(delays) <= 120
    assert retry_delay(endpoint=endpoint, attempts=3, throttled=False, retry_after=None) is None
    assert retry_delay(endpoint=endpoint, attempts=1, throttled=True, retry_after=None) >= 80
    assert retry_delay(endpoint=Endpoint(retry_schedule=[0, 1]), attempts=1, throttled=True, retry_after=None) >= 60
    assert retry_delay(endpoint=endpoint, attempts=1, throttled=False, retry_after=500) == 500
    default = Endpoint()
    assert len(settings.SYNC_RETRY_SCHEDULE) == 10
    assert retry_delay(endpoint=default, attempts=9, throttled=False, retry_after=None) >= 86400 * 0.8


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:02:00 GMT", now=now) == 120
    assert parse_retry_after("soon", now=now) is None and parse_retry_after(None, now=now) is None


def test_deliveries_route_to_their_endpoint_kind_queue_and_countdowns_stay_under_visibility_timeout():
    assert route_task("sync.tasks.endpoint_drain", [], {"endpoint_id": 1, "kind": "logistics"}, {}) == {
        "queue": "logistics"}
    assert route_task("sync.tasks.deliveries_sweep", [], {}, {}) == {"queue": "default"}
    assert settings.SYNC_MAX_COUNTDOWN < settings.CELERY_VISIBILITY_TIMEOUT
    assert {"sync-sweep", "sync-prune-attempts"} <= set(settings.CELERY_BEAT_SCHEDULE)
    from ordersync.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def queued(queue: str) -> int:
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL) as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except Exception:  # redis reports a queue that never held a message as missing
            return 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.needs_broker
def test_commits_coalesce_into_one_queued_drain_per_endpoint(celery_workers):
    make_endpoint(url="http://127.0.0.1:9/a")
    make_endpoint(url="http://127.0.0.1:9/b", kind="stock")
    for order_id in range(5):
        publish(order_id=order_id)
    with transaction.atomic():
        event_publish_many(events=[EventSpec(topic="order.paid", payload={}, order_id=i) for i in range(5, 50)])
    assert Delivery.objects.count() == 100
    assert (queued("payment"), queued("stock")) == (1, 1)
    assert DrainNudge.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.needs_broker
def test_sweep_queues_one_drain_per_endpoint_with_a_due_head_and_not_twice(celery_workers):
    first, _ = make_endpoint(url="http://127.0.0.1:9/a")
    blocked, _ = make_endpoint(url="http://127.0.0.1:9/b", kind="stock")
    make_endpoint(url="http://127.0.0.1:9/c", kind="logistics", topics=["order.shipped"])  # nothing for it
    for order_id in (1, 1, 2):
        publish(order_id=order_id)
    # The stock endpoint's only open deliveries wait behind a dead one: no drain could send anything.
    Delivery.objects.filter(endpoint=blocked, sequence=1, event__order_id=1).update(state="dead")
    Delivery.objects.filter(endpoint=blocked, event__order_id=2).update(state="succeeded")
    purge_broker(settings.CELERY_BROKER_URL, all_queues())  # the broker lost the drains the commits queued
    DrainNudge.objects.update(expires_at=timezone.now())

    assert deliveries_sweep() == 1
    assert list(DrainNudge.objects.filter(expires_at__gt=timezone.now()).values_list("endpoint", flat=True)) == [
        first.pk]
    assert deliveries_sweep() == 0, "a queued drain is not sent again before its nudge expires"
    assert (queued("payment"), queued("stock")) == (1, 0)


def test_replay_and_cancel_resolve_alerts():
    endpoint, _ = make_endpoint(url="http://127.0.0.1:9/a")
    publish(order_id=1)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(state="dead", attempts=10)
    OperatorAlert.objects.create(kind="delivery_dead", endpoint=endpoint, delivery=delivery, message="x")
    assert deliveries_replay(delivery_ids=[delivery.pk]) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 0)
    assert OperatorAlert.objects.get().resolved_at is not None
    assert deliveries_cancel(delivery_ids=[delivery.pk]) == 1
    assert Delivery.objects.get().state == "cancelled"
    assert deliveries_cancel(delivery_ids=[delivery.pk]) == 0, "already resolved"


def test_enable_closes_the_breaker_and_resolves_endpoint_alerts():
    endpoint, _ = make_endpoint(url="http://127.0.0.1:9/a")
    Endpoint.objects.filter(pk=endpoint.pk).update(active=False, consecutive_failures=9,
                                                   paused_until=timezone.now() + timedelta(hours=1))
    OperatorAlert.objects.create(kind="endpoint_disabled", endpoint=endpoint, message="410")
    endpoint_enable(endpoint_id=endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.consecutive_failures == 0 and endpoint.paused_until is None
    assert OperatorAlert.objects.get().resolved_at is not None


def test_prune_drops_old_attempts_of_succeeded_deliveries_only():
    make_endpoint(url="http://127.0.0.1:9/a")
    publish(order_id=1)
    publish(order_id=2)
    old = timezone.now() - timedelta(days=30)
    done, dead = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk=done.pk).update(state="succeeded", delivered_at=old)
    Delivery.objects.filter(pk=dead.pk).update(state="dead")
    for delivery in (done, dead):
        Attempt.objects.create(delivery=delivery, started_at=old, duration_ms=5, status_code=500)
    assert attempts_prune(older_than_days=14) == 1
    assert list(Attempt.objects.values_list("delivery", flat=True)) == [dead.pk]
