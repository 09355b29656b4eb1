"""Deliveries performed by a real Celery worker over the real broker to a real local HTTP server."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

from sync.models import Delivery
from tests.harness.celery_worker import wait_until
from tests.sync.conftest import BROKERS
from tests.sync.factories import make_endpoint, publish

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_published_event_reaches_every_subscribed_endpoint_once_signed(http_server, broker, sync_worker):
    pay, pay_secret = make_endpoint(url=http_server.url("/pay"), kind="payment", topics=["order.paid"])
    stock, stock_secret = make_endpoint(url=http_server.url("/stock"), kind="stock", topics=["order.*"])
    make_endpoint(url=http_server.url("/ship"), kind="logistics", topics=["order.shipped"])

    event = publish("order.paid", order_id=42, payload={"total": "99.50"})

    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 2, message="two deliveries")
    assert sorted(r.path for r in http_server.requests) == ["/pay", "/stock"]
    for path, secret in (("/pay", pay_secret), ("/stock", stock_secret)):
        (request,) = http_server.requests_for(path)
        body = Webhook(secret).verify(request.body, request.headers)
        assert body["type"] == "order.paid"
        assert body["data"] == {"total": "99.50", "sequence": event.sequence, "order_id": 42}
        assert request.headers["webhook-id"] == str(event.pk)
        assert request.headers["idempotency-key"] == str(event.pk)
    delivery = Delivery.objects.get(endpoint=pay)
    assert delivery.attempts == 1 and delivery.attempt_log.get().status_code == 200
    assert delivery.end_to_end_latency_ms is not None and delivery.delivered_at is not None
    assert json.loads(http_server.requests_for("/pay")[0].body)["data"]["sequence"] == 1
    assert not Delivery.objects.filter(endpoint=stock, state="pending").exists()
