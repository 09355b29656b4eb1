from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Count, Sum

from analytics.history import PAST_SALE, UPCOMING_SALE
from analytics.models import Promotion
from inventory.models import StockMovement
from orders.fsm import Status
from orders.models import Order, OrderLine, OrderStatusChange
from sync.models import Event
from tests.analytics.conftest import NOW
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_generated_orders_are_coherent_finished_orders_of_a_real_channel(seeded, channel):
    seeded(7)
    orders = Order.objects.filter(channel=channel)
    assert orders.count() > 7 * 24  # about 5 an hour
    assert set(orders.values_list("status", flat=True)) <= {Status.DELIVERED, Status.CANCELLED}
    assert orders.filter(status=Status.CANCELLED).exclude(cancel_reason="").count() == orders.filter(
        status=Status.CANCELLED).count()
    assert not orders.filter(placed_at__gte=NOW.replace(minute=0)).exists()
    for order in orders.annotate(line_sum=Sum("lines__line_total"), line_count=Count("lines"))[:200]:
        assert 1 <= order.line_count <= 3
        assert order.subtotal == order.line_sum and order.total == order.subtotal + order.shipping_total
        assert order.currency == channel.currency
    for line in OrderLine.objects.all()[:300]:
        assert line.quantity >= 1 and line.line_total == line.unit_price * line.quantity > Decimal(0)
    # One audit row per order saying where it came from; no events, no stock movements.
    assert OrderStatusChange.objects.filter(transition="import", actor="system:seed_history").count() == orders.count()
    assert not Event.objects.exists() and not StockMovement.objects.exists()


class Discard(Exception):
    pass


def history_of(channel) -> list:
    return list(Order.objects.filter(channel=channel).order_by("external_id").values_list(
        "external_id", "placed_at", "total", "status"))


def test_the_same_seed_gives_the_same_history_and_a_rerun_adds_nothing(seeded, channel):
    with pytest.raises(Discard), transaction.atomic():
        seeded(7)
        discarded = history_of(channel)
        raise Discard  # roll the first history back: the second run starts from an empty table again
    assert not Order.objects.exists()
    first = seeded(7)
    assert history_of(channel) == discarded and first.created["webshop"] == len(discarded)
    assert seeded(7).created == {"webshop": 0}
    other = ChannelFactory(code="second")
    seeded(7, channels=[other], seed=43)
    assert [row[1:] for row in history_of(other)] != [row[1:] for row in discarded]  # another seed, another history


def test_a_longer_run_fills_in_only_the_earlier_hours(seeded, channel):
    seeded(7)
    before = set(Order.objects.values_list("external_id", flat=True))
    result = seeded(10)
    after = set(Order.objects.values_list("external_id", flat=True))
    assert before < after and result.created["webshop"] == len(after - before)


def test_demo_promotions_are_created_once_and_the_history_shows_the_sale(seeded, channel):
    result = seeded(42)
    assert result.promotions == [PAST_SALE, UPCOMING_SALE]
    assert seeded(42).promotions == []
    sale = Promotion.objects.get(name=PAST_SALE)
    during = Order.objects.filter(placed_at__gte=sale.starts_at, placed_at__lt=sale.ends_at).count()
    week = timedelta(days=7)
    week_before = Order.objects.filter(placed_at__gte=sale.starts_at - week, placed_at__lt=sale.ends_at - week).count()
    assert during > 1.8 * week_before  # +150 % expected; noise allowed for
    assert Promotion.objects.get(name=UPCOMING_SALE).starts_at > NOW


def test_no_pattern_history_has_the_same_mean_every_hour(seeded):
    seeded(14, seasonal=False, orders_per_hour=6)
    by_hour = {}
    for placed_at in Order.objects.values_list("placed_at", flat=True):
        by_hour[placed_at.hour] = by_hour.get(placed_at.hour, 0) + 1
    assert max(by_hour.values()) < 1.6 * min(by_hour.values())
