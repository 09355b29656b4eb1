"""/metrics from a live gunicorn (two processes) during a small run through a real worker, checked against the
database; and who may scrape it."""

from collections import Counter

import pytest
import requests
from django.db.models import F
from prometheus_client.parser import text_string_to_metric_families

from channels_integration.models import InboundMessage
from inventory.models import StockLevel
from orders.models import Order
from ordersync.metrics import LATENCY_BUCKETS
from sync.models import Delivery, Endpoint
from tests.factories import ChannelFactory
from tests.harness.celery_worker import wait_until
from tests.ops.conftest import METRICS_TOKEN
from tests.orders.factories import make_order, stock_skus
from tests.sync.conftest import WORKER_ENV
from tests.sync.factories import make_endpoint

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]


def scrape(server) -> dict[str, list]:
    response = requests.get(f"{server.base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                            timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def values(samples, name: str, *keys: str) -> dict:
    return {tuple(s.labels[k] for k in keys): s.value for s in samples if s.name == name}


def test_metrics_match_the_database_during_and_after_a_run(make_web_server, http_server, celery_workers):
    server = make_web_server()
    channel = ChannelFactory(code="shop-eu")
    stock_skus("SKU-A", "SKU-B", quantity=100)
    make_endpoint(url=http_server.url("/pay"), kind="payment", topics=["order.*"])
    failing, _ = make_endpoint(url=http_server.url("/ship"), kind="logistics", topics=["order.created"],
                               retry_schedule=[0])
    http_server.respond_sequence("/ship", [500] * 50)
    InboundMessage.objects.create(channel=channel, topic="orders/create", dedupe_key="m1", body=b"{}")
    InboundMessage.objects.create(channel=channel, topic="orders/create", dedupe_key="m2", body=b"{}",
                                  state=InboundMessage.State.PROCESSED)

    for _ in range(3):
        make_order(channel)
    make_order(channel, status="paid")

    during = scrape(server)  # no worker yet: everything is backlog, and the stock feed has not published
    backlog = values(during["ordersync_endpoint_backlog"], "ordersync_endpoint_backlog", "endpoint")
    assert backlog == {(failing.name,): 4, (Endpoint.objects.get(kind="payment").name,): 5}
    oldest = values(during["ordersync_endpoint_oldest_pending_age_seconds"],
                    "ordersync_endpoint_oldest_pending_age_seconds", "endpoint")
    assert all(age > 0 for age in oldest.values())
    assert during["ordersync_stock_feed_unpublished_levels"][0].value == StockLevel.objects.filter(
        version__gt=F("published_version")).count() > 0

    celery_workers.start(env=WORKER_ENV)
    wait_until(lambda: Delivery.objects.filter(state__in=["succeeded", "dead"]).count() == 9, timeout=60,
               message="all nine deliveries succeeded or dead")
    wait_until(lambda: not StockLevel.objects.filter(version__gt=F("published_version")).exists(), timeout=30,
               message="the stock feed to catch up")
    for _ in range(6):
        assert requests.get(f"{server.base}/healthz", timeout=10).status_code == 200

    after = scrape(server)
    expected_states = Counter(
        (name, kind, state) for name, kind, state in
        Delivery.objects.values_list("endpoint__name", "endpoint__kind", "state"))
    assert values(after["ordersync_deliveries"], "ordersync_deliveries", "endpoint", "kind", "state") == dict(
        expected_states)
    assert expected_states[(failing.name, "logistics", "dead")] == 4
    assert set(values(after["ordersync_endpoint_backlog"], "ordersync_endpoint_backlog", "endpoint").values()) == {0}

    # The latency histogram of payment deliveries is exactly the stored commit→2xx latencies, bucketed.
    latencies = list(Delivery.objects.filter(endpoint__kind="payment", state="succeeded")
                     .values_list("end_to_end_latency_ms", flat=True))
    histogram = {s.labels["le"]: s.value for s in after["ordersync_delivery_latency_seconds"]
                 if s.name == "ordersync_delivery_latency_seconds_bucket" and s.labels["kind"] == "payment"}
    for bound in LATENCY_BUCKETS:
        assert histogram[str(float(bound))] == sum(ms <= bound * 1000 for ms in latencies)
    assert histogram["+Inf"] == len(latencies) == 5

    breaker = values(after["ordersync_endpoint_breaker_state"], "ordersync_endpoint_breaker_state",
                     "endpoint", "state")
    assert sum(v for (name, _), v in breaker.items() if name == failing.name) == 1

    inbound = values(after["ordersync_inbound_messages"], "ordersync_inbound_messages", "channel", "state")
    assert inbound == {("shop-eu", "received"): 1, ("shop-eu", "processed"): 1}
    lag = values(after["ordersync_inbound_oldest_unprocessed_age_seconds"],
                 "ordersync_inbound_oldest_unprocessed_age_seconds", "channel")
    assert list(lag) == [("shop-eu",)] and lag[("shop-eu",)] > 0

    assert after["ordersync_stock_feed_unpublished_levels"][0].value == 0
    assert after["ordersync_stock_feed_lag_seconds"][0].value == 0
    orders = values(after["ordersync_orders"], "ordersync_orders", "channel", "status")
    assert orders == dict(Counter(("shop-eu", s) for s in Order.objects.values_list("status", flat=True)))
    assert orders == {("shop-eu", "new"): 3, ("shop-eu", "paid"): 1}

    # Request latency of both gunicorn processes, merged: every healthz request counted once.
    def healthz_count(scraped):
        return values(scraped["ordersync_http_request_duration_seconds"],
                      "ordersync_http_request_duration_seconds_count", "view", "method", "status")[
            ("healthz", "GET", "200")]

    assert healthz_count(after) - healthz_count(during) == 6


def test_metrics_need_the_token_or_an_allowed_address(make_web_server):
    server = make_web_server()
    assert requests.get(f"{server.base}/metrics", timeout=10).status_code == 403
    wrong = requests.get(f"{server.base}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 403 and wrong.json()["code"] == "metrics_forbidden"

    open_locally = make_web_server(METRICS_TOKEN="")
    assert requests.get(f"{open_locally.base}/metrics", timeout=10).status_code == 200
    closed = make_web_server(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS="10.0.0.0/8")
    assert requests.get(f"{closed.base}/metrics", timeout=10).status_code == 403
