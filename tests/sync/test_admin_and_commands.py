import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from sync.models import Attempt, Delivery, Endpoint
from tests.sync.factories import make_endpoint, publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliveries():
    endpoints = [make_endpoint(url=f"http://127.0.0.1:9/{i}", kind=kind)[0]
                 for i, kind in enumerate(["payment", "stock", "logistics"])]
    for order_id in range(15):
        publish(order_id=order_id)
    now = timezone.now()
    for i, delivery in enumerate(Delivery.objects.all()):
        Attempt.objects.create(delivery=delivery, started_at=now, duration_ms=10 + i, status_code=200 if i % 2 else 500)
    Delivery.objects.filter(sequence=1, endpoint=endpoints[0]).update(state="succeeded")
    return endpoints


@pytest.mark.parametrize("model", ["endpoint", "delivery", "event", "operatoralert"])
def test_changelists_use_a_bounded_number_of_queries(admin_client, deliveries, django_assert_max_num_queries, model):
    # Filters and the date hierarchy cost a few fixed queries; rows never add any.
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse(f"admin:sync_{model}_changelist"))
    assert response.status_code == 200


def test_endpoint_health_figures(admin_client, deliveries):
    from sync.selectors import endpoints_with_health, success_rate

    health = {e.name: e for e in endpoints_with_health()}
    pay = health[deliveries[0].name]
    assert pay.backlog == 0 and pay.attempts_window == 15
    assert 0 < success_rate(pay) < 1 and pay.p95_ms is not None
    assert health[deliveries[1].name].backlog == 15
    assert health[deliveries[1].name].oldest_pending_at is not None


def test_delivery_change_page_shows_attempts_and_bulk_actions_go_through_services(admin_client, deliveries):
    delivery = Delivery.objects.filter(state="pending").first()
    page = admin_client.get(reverse("admin:sync_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200 and b"duration" in page.content.lower()
    ids = list(Delivery.objects.filter(state="pending").values_list("pk", flat=True)[:3])
    admin_client.post(reverse("admin:sync_delivery_changelist"),
                      {"action": "cancel", "_selected_action": ids, "post": "yes"})  # confirmed
    assert Delivery.objects.filter(pk__in=ids, state="cancelled").count() == 3
    admin_client.post(reverse("admin:sync_delivery_changelist"),
                      {"action": "replay", "_selected_action": ids, "post": "yes"})
    assert Delivery.objects.filter(pk__in=ids, state="pending").count() == 3


def test_create_endpoint_prints_the_secret_once_as_json():
    out = io.StringIO()
    call_command("create_endpoint", "psp", "--kind", "payment", "--url", "http://127.0.0.1:9/pay",
                 "--topics", "order.paid,order.refunded", "--retry-schedule", "0,5", "--max-concurrency", "4",
                 stdout=out)
    printed = json.loads(out.getvalue())
    endpoint = Endpoint.objects.get(name="psp")
    assert printed["secret"] == endpoint.secret and printed["secret"].startswith("whsec_")
    assert printed["topics"] == ["order.paid", "order.refunded"] and endpoint.retry_schedule == [0, 5]
    assert endpoint.max_concurrency == 4
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_endpoint", "psp", "--kind", "payment", "--url", "http://127.0.0.1:9/pay",
                     "--topics", "*")
    with pytest.raises(CommandError, match="url"):
        call_command("create_endpoint", "bad", "--kind", "payment", "--url", "nope", "--topics", "*")
    with pytest.raises(CommandError, match="max_concurrency: deliveries in flight"):
        call_command("create_endpoint", "bad", "--kind", "payment", "--url", "http://127.0.0.1:9/pay",
                     "--topics", "*", "--max-concurrency", "0")


def test_sync_status_prints_backlog_and_oldest_age(deliveries):
    out = io.StringIO()
    call_command("sync_status", stdout=out)
    text = out.getvalue()
    assert deliveries[1].name in text and "total backlog: 30" in text


def test_sync_replay_requeues_dead_deliveries_since(deliveries):
    stock = deliveries[1]
    Delivery.objects.filter(endpoint=stock).update(state="dead", attempts=10)
    Delivery.objects.filter(endpoint=stock, sequence=1).filter(event__order_id__lt=5).update(
        created_at=timezone.now() - timedelta(days=3))
    out = io.StringIO()
    call_command("sync_replay", "--endpoint", stock.name, "--state", "dead", "--since", "1d", stdout=out,
                 stderr=io.StringIO())
    assert "re-queued 10" in out.getvalue()
    assert Delivery.objects.filter(endpoint=stock, state="pending", attempts=0).count() == 10
    with pytest.raises(CommandError, match="no endpoint"):
        call_command("sync_replay", "--endpoint", "nope")
    with pytest.raises(CommandError, match="--since"):
        call_command("sync_replay", "--endpoint", stock.name, "--since", "yesterday")
