"""Bulk cannot stall the web tier: lines per bulk request are capped (413 naming the cap, nothing written), and
while two maximum-size bulks run against the Procfile's gunicorn (what `make run` starts), /healthz answers."""

import threading

import requests

from channels_integration.models import ApiKey
from channels_integration.services import api_key_create
from orders.api.serializers import BULK_MAX_LINES
from orders.models import Order
from tests.factories import ChannelFactory
from tests.harness.celery_worker import wait_until
from tests.orders.factories import order_body, stock_skus
from tests.ordersync import servers

web_server = servers.web_server  # the fixture, shared with tests/ordersync

SKUS = [f"BULK-{i}" for i in range(20)]
LINES_PER_ORDER = 20  # 250 orders at the cap, well under the 500-order limit


def bulk_body(tag: str, lines: int) -> dict:
    orders = []
    for n in range(-(-lines // LINES_PER_ORDER)):
        count = min(LINES_PER_ORDER, lines - n * LINES_PER_ORDER)
        orders.append(order_body(external_id=f"{tag}-{n}", lines=[
            {"sku": SKUS[(n + i) % len(SKUS)], "name": "Widget", "quantity": 1, "unit_price": "1.00"}
            for i in range(count)
        ]))
    return {"orders": orders}


def post_bulk(server, secret: str, body: dict) -> requests.Response:
    return requests.post(server.url("/api/v1/orders/bulk/"), json=body, headers={"Authorization": f"Bearer {secret}"},
                         timeout=120)


def test_a_bulk_over_the_line_cap_is_refused_with_the_cap_and_writes_nothing(web_server):
    server = web_server()
    stock_skus(*SKUS, quantity=10_000)
    secret = api_key_create(channel=ChannelFactory(), scopes=["orders:write"]).secret

    response = post_bulk(server, secret, bulk_body("over", BULK_MAX_LINES + 1))

    assert response.status_code == 413
    assert response.json()["code"] == "too_many_lines"
    assert str(BULK_MAX_LINES) in response.json()["detail"]
    assert response.json()["max_lines"] == BULK_MAX_LINES
    assert not Order.objects.exists()


def test_healthz_answers_while_two_maximum_size_bulks_are_in_flight(web_server):
    server = web_server()
    stock_skus(*SKUS, quantity=100_000)
    channel = ChannelFactory()
    # One key per bulk: authentication stamps last_used_at, which shows the server has started on that request.
    issued = [api_key_create(channel=channel, scopes=["orders:write"]) for _ in range(2)]
    answers: list[requests.Response | None] = [None, None]

    def send(i):
        answers[i] = post_bulk(server, issued[i].secret, bulk_body(f"big{i}", BULK_MAX_LINES))

    senders = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for sender in senders:
        sender.start()
    try:
        wait_until(lambda: ApiKey.objects.filter(pk__in=[k.api_key.pk for k in issued], last_used_at__isnull=False)
                   .count() == 2, timeout=60, interval=0.01, message="the server to start on both bulks")
        probe = requests.get(server.url("/healthz"), timeout=60)
        in_flight_when_probe_answered = [answer is None for answer in answers]
    finally:
        for sender in senders:
            sender.join(timeout=120)

    assert probe.status_code == 200
    assert in_flight_when_probe_answered == [True, True], "/healthz waited for a bulk to finish"
    for answer in answers:
        assert answer.status_code == 200, answer.text[:500]
        assert {item["status"] for item in answer.json()["results"]} == {201}
