from datetime import timedelta

import pytest

from analytics.selectors import hourly_order_counts
from orders.models import Order
from tests.analytics.conftest import NOW
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_hourly_counts_group_by_utc_hour_and_channel(seeded, channel):
    seeded(3)
    other = ChannelFactory(code="woo")
    seeded(3, channels=[other])
    rows = hourly_order_counts(since=NOW - timedelta(days=4), until=NOW)
    assert {r["channel_code"] for r in rows} == {"webshop", "woo"}
    assert sum(r["orders"] for r in rows) == Order.objects.count()
    assert all(r["hour"].minute == 0 and r["hour"].second == 0 for r in rows)
    first = rows[0]
    assert first["orders"] == Order.objects.filter(
        channel__code=first["channel_code"], placed_at__gte=first["hour"],
        placed_at__lt=first["hour"] + timedelta(hours=1)).count()
    only_woo = hourly_order_counts(since=NOW - timedelta(days=4), until=NOW, channel=other)
    assert {r["channel_code"] for r in only_woo} == {"woo"}


@pytest.mark.parametrize("days", [1, 10])
def test_hourly_counts_are_one_query_whatever_the_span(seeded, django_assert_num_queries, days):
    seeded(days, channels=[ChannelFactory(code="a"), ChannelFactory(code="b")])
    with django_assert_num_queries(1):
        rows = hourly_order_counts(since=NOW - timedelta(days=days), until=NOW)
    assert len(rows) > days * 24  # two channels' hours came back from that one query
