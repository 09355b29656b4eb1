"""Each console changelist costs the same number of queries for 1 row as for many (no per-row queries)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.fsm import Status
from tests.console.factories import add_delivery, add_inbound, add_notification
from tests.orders.factories import make_order, stock_skus
from tests.sync.factories import make_endpoint

CHANGELISTS = ["orders_order", "sync_delivery", "sync_endpoint", "channels_integration_inboundmessage",
               "notifications_notification", "channels_integration_apikey", "sync_event", "sync_operatoralert"]


def seed(channel, endpoint, n):
    for _ in range(n):
        order = make_order(channel, Status.NEW)
        add_delivery(order, endpoint, topic=f"order.t{order.pk}")
        add_inbound(order)
        add_notification(order)
    channel.api_keys.create(prefix=f"osk_{channel.api_keys.count()}", secret_hash="x", scopes=["orders:read"])


@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelist_queries_do_not_grow_with_rows(client, admin_user, channel, name):
    stock_skus("SKU-A", "SKU-B")
    endpoint = make_endpoint(url="http://127.0.0.1:9/hook")[0]
    client.force_login(admin_user)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200
        return len(queries)

    seed(channel, endpoint, 1)
    few = count()
    seed(channel, endpoint, 6)
    assert count() == few
