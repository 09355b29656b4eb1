"""The deliveries list at 200 000 rows: its filtered page is read through an index, and no query of the page counts
the whole table (CappedCountPaginator; an unfiltered list reports pg_class's estimate)."""


import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console.lists import COUNT_CAP
from tests.sync.factories import make_endpoint

ROWS = 200_000


@pytest.fixture
def many_deliveries(db):
    """ROWS deliveries over two endpoints: 1 % dead, 5 % pending, the rest succeeded."""
    endpoints = [make_endpoint(url=f"http://127.0.0.1:9/{n}")[0].pk for n in range(2)]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sync_event (id, topic, order_id, stream, sequence, payload, created_at) "
            "SELECT gen_random_uuid(), CASE WHEN g %% 3 = 0 THEN 'order.paid' ELSE 'order.shipped' END, g, "
            "'order:' || g, 1, '{}'::jsonb, now() - make_interval(secs => %s - g) "
            "FROM generate_series(1, %s) g", [ROWS, ROWS // 2])
        cursor.execute(
            "INSERT INTO sync_delivery (event_id, endpoint_id, stream, sequence, state, attempts, last_error, "
            "created_at) SELECT e.id, ep, e.stream, e.sequence, CASE WHEN e.order_id %% 100 = 0 THEN 'dead' "
            "WHEN e.order_id %% 20 = 0 THEN 'pending' ELSE 'succeeded' END, 1, '', e.created_at "
            "FROM sync_event e CROSS JOIN unnest(%s::bigint[]) ep", [endpoints])
        cursor.execute("ANALYZE sync_event")
        cursor.execute("ANALYZE sync_delivery")


def page_queries(client, admin_user, query: str):
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{reverse('admin:sync_delivery_changelist')}?{query}")
    assert response.status_code == 200
    return response, [q["sql"] for q in queries]


def plan(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        return cursor.fetchone()[0][0]["Plan"]


def nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def test_the_dead_filter_reads_the_page_through_an_index(client, admin_user, many_deliveries):
    response, sqls = page_queries(client, admin_user, "state__exact=dead")
    assert response.context["cl"].result_count == ROWS // 100
    (main,) = [sql for sql in sqls if sql.startswith('SELECT "sync_delivery"."id"') and "LIMIT 100" in sql]
    assert 'WHERE "sync_delivery"."state" = \'dead\'' in main and 'ORDER BY "sync_delivery"."id" DESC' in main
    scans = {(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in nodes(plan(main))}
    assert any(index == "delivery_state_list_idx" for _type, _rel, index in scans), scans
    assert ("Seq Scan", "sync_delivery", None) not in scans, scans


def test_no_query_of_the_list_counts_the_whole_table(client, admin_user, many_deliveries):
    response, sqls = page_queries(client, admin_user, "")
    counts = [sql for sql in sqls if "COUNT(" in sql.upper() and "sync_delivery" in sql]
    assert counts and all(f"LIMIT {COUNT_CAP + 1}" in sql for sql in counts), counts
    # Unfiltered and past the cap: the planner's estimate, close to the real size.
    assert abs(response.context["cl"].result_count - ROWS) < ROWS * 0.1
    _, filtered = page_queries(client, admin_user, "state__exact=succeeded")
    counted = [sql for sql in filtered if "COUNT(" in sql.upper() and "sync_delivery" in sql]
    assert counted and all(f"LIMIT {COUNT_CAP + 1}" in sql for sql in counted), counted
