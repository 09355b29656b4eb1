"""SQL statements per ingested order, pinned so they cannot creep back (issue #15: round trips per order).

Counted after the key's first request, as a busy integration sends them: the first request of a key also
records last_used_at (see tests/channels_integration/test_auth.py)."""

import pytest

from tests.orders.factories import order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
BULK = ORDERS + "bulk/"
# Was 18 (issue #15). Now: ingest's transaction (a savepoint inside the test's), order, lines, compliance rules,
# stock read, reservation savepoint + reservations + movements + one update per stock level (2) + release,
# audit row, outbox (stream counter and events in one statement, endpoints), commit. The key comes from the
# process's key cache and the answer is rendered from the lines just written.
SINGLE_ORDER_STATEMENTS = 15
# Was 23. The same for 20 orders as for 40: rows are written per table, not per order.
BULK_STATEMENTS = 20


def test_single_order_statement_count(api, django_assert_max_num_queries):
    api.post(ORDERS, order_body(external_id="warm-up"), format="json")
    with django_assert_max_num_queries(SINGLE_ORDER_STATEMENTS):
        response = api.post(ORDERS, order_body(external_id="counted"), format="json")
    assert response.status_code == 201
    assert [line["sku"] for line in response.json()["lines"]] == ["SKU-A", "SKU-B"]


@pytest.mark.parametrize("size", [20, 40])
def test_bulk_statement_count_does_not_grow_with_orders(api, size, django_assert_max_num_queries):
    api.post(ORDERS, order_body(external_id="warm-up"), format="json")
    items = [order_body(external_id=f"n-{i}") for i in range(size)]
    with django_assert_max_num_queries(BULK_STATEMENTS):
        response = api.post(BULK, {"orders": items}, format="json")
    assert [r["status"] for r in response.json()["results"]] == [201] * size
