"""Channel allocations: restricted SKUs and caps, raced with real threads on separate connections."""

import pytest

from inventory.models import ChannelAllocation, Reservation, SkuChange
from inventory.reconcile import allocation_drift
from inventory.selectors import sellable_availability
from inventory.services import (
    InsufficientStock,
    LineRequest,
    OrderStock,
    UnknownSku,
    allocation_remove,
    allocation_set,
    stock_commit,
    stock_release,
    stock_reserve,
    stock_reserve_many,
)
from tests.factories import ChannelFactory
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock
from tests.inventory.helpers import assert_no_drift
from tests.threads import run_concurrently


def _counter(channel) -> int:
    return ChannelAllocation.objects.get(channel=channel).reserved


def _held(channel) -> int:
    return sum(Reservation.objects.filter(channel_id=channel.pk, state="active").values_list("quantity", flat=True))


@pytest.fixture
def split_stock(db):
    """SKU CAPPED with 30 units over two warehouses: small orders fit one level, large ones split."""
    sku = SkuFactory(code="CAPPED")
    stock(sku, WarehouseFactory(code="one", priority=1), 10)
    stock(sku, WarehouseFactory(code="two", priority=2), 20)
    return sku


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_of_one_channel_never_pass_its_cap(split_stock):
    capped, other = ChannelFactory(), ChannelFactory()
    allocation_set(channel=capped, sku_code="CAPPED", cap=7, actor="t")

    def reserve(order_id, channel, quantity):
        return lambda: stock_reserve(order_id=order_id, lines=[LineRequest(order_id, "CAPPED", quantity)],
                                     actor="t", channel_id=channel.pk)

    jobs = [reserve(i, capped, 1 + i % 3) for i in range(1, 17)] + [reserve(100 + i, other, 2) for i in range(6)]
    results = run_concurrently(jobs)

    assert [r for kind, r in results if kind == "error" and not isinstance(r, InsufficientStock)] == []
    assert _held(capped) == _counter(capped) <= 7
    assert _held(capped) >= 5  # refused orders wanted more than was left, not less
    assert _held(other) == 12  # the uncapped channel got all it asked for
    assert_no_drift()


@pytest.mark.django_db(transaction=True)
def test_bulk_and_single_reservations_race_under_one_cap(split_stock):
    channel = ChannelFactory()
    allocation_set(channel=channel, sku_code="CAPPED", cap=9, actor="t")

    def batch(first):
        orders = [OrderStock(order_id=first + k, lines=[LineRequest(first + k, "CAPPED", 1)]) for k in range(4)]
        return lambda: stock_reserve_many(orders=orders, actor="t", channel_id=channel.pk)

    def single(order_id):
        return lambda: stock_reserve(order_id=order_id, lines=[LineRequest(order_id, "CAPPED", 1)], actor="t",
                                     channel_id=channel.pk)

    results = run_concurrently([batch(1000 * b) for b in range(1, 4)] + [single(i) for i in range(1, 9)])

    assert [r for kind, r in results if kind == "error" and not isinstance(r, InsufficientStock)] == []
    assert _held(channel) == _counter(channel) == 9
    assert_no_drift()


@pytest.mark.django_db
def test_releasing_and_shipping_give_room_back(split_stock):
    channel = ChannelFactory()
    allocation_set(channel=channel, sku_code="CAPPED", cap=5, actor="t")
    stock_reserve(order_id=1, lines=[LineRequest(1, "CAPPED", 3)], actor="t", channel_id=channel.pk)
    stock_reserve(order_id=2, lines=[LineRequest(2, "CAPPED", 2)], actor="t", channel_id=channel.pk)
    with pytest.raises(InsufficientStock) as refused:
        stock_reserve(order_id=3, lines=[LineRequest(3, "CAPPED", 1)], actor="t", channel_id=channel.pk)
    assert refused.value.shortages == [{"sku": "CAPPED", "requested": 1, "available": 0}]
    assert sellable_availability(sku_codes=["CAPPED"], channel=channel) == {"CAPPED": 0}

    stock_release(order_id=1, actor="t", reason="cancelled")
    stock_commit(order_id=2, actor="t")
    assert _counter(channel) == 0
    assert sellable_availability(sku_codes=["CAPPED"], channel=channel) == {"CAPPED": 5}
    assert_no_drift()


@pytest.mark.django_db
def test_a_cap_set_later_counts_what_the_channel_already_holds(split_stock):
    channel = ChannelFactory()
    stock_reserve(order_id=1, lines=[LineRequest(1, "CAPPED", 4)], actor="t", channel_id=channel.pk)
    stock_reserve(order_id=2, lines=[LineRequest(2, "CAPPED", 12)], actor="t", channel_id=channel.pk)  # split
    stock_reserve(order_id=3, lines=[LineRequest(3, "CAPPED", 1)], actor="t")  # not the channel's

    allocation_set(channel=channel, sku_code="CAPPED", cap=18, actor="user:op")
    assert _counter(channel) == 16
    allocation_set(channel=channel, sku_code="CAPPED", cap=18, actor="user:op")  # saving again counts nothing twice
    assert _counter(channel) == 16
    assert sellable_availability(sku_codes=["CAPPED"], channel=channel) == {"CAPPED": 2}

    allocation_set(channel=channel, sku_code="CAPPED", cap=10, actor="user:op")  # below what it holds
    assert sellable_availability(sku_codes=["CAPPED"], channel=channel) == {"CAPPED": 0}
    with pytest.raises(InsufficientStock):
        stock_reserve(order_id=4, lines=[LineRequest(4, "CAPPED", 1)], actor="t", channel_id=channel.pk)
    stock_release(order_id=2, actor="t", reason="cancelled")
    assert _counter(channel) == 4
    assert_no_drift()

    assert allocation_remove(channel=channel, sku_code="CAPPED", actor="user:op")
    stock_release(order_id=1, actor="t", reason="cancelled")  # its allocation is gone: nothing to count down
    assert not ChannelAllocation.objects.exists()
    assert [c.changes for c in SkuChange.objects.order_by("id")] == [
        {f"allocation:{channel.code}": [None, {"cap": 18}]},
        {f"allocation:{channel.code}": [{"cap": 18}, {"cap": 10}]},
        {f"allocation:{channel.code}": [{"cap": 10}, None]},
    ]
    assert set(SkuChange.objects.values_list("actor", flat=True)) == {"user:op"}


@pytest.mark.django_db(transaction=True)
def test_setting_a_cap_while_reservations_race_leaves_no_overcount(split_stock):
    """Reservations that did not see the new allocation are uncounted (never counted twice); saving heals."""
    channel = ChannelFactory()

    def reserve(order_id):
        return lambda: stock_reserve(order_id=order_id, lines=[LineRequest(order_id, "CAPPED", 1)], actor="t",
                                     channel_id=channel.pk)

    jobs = [reserve(i) for i in range(1, 13)]
    jobs.insert(6, lambda: allocation_set(channel=channel, sku_code="CAPPED", cap=None, actor="t"))
    results = run_concurrently(jobs)

    assert [r for kind, r in results if kind == "error"] == []
    assert all(d.reserved <= d.counted for d in allocation_drift())  # at most under-counted
    allocation_set(channel=channel, sku_code="CAPPED", cap=None, actor="t")
    assert _counter(channel) == _held(channel) == 12
    assert_no_drift()


@pytest.mark.django_db
def test_a_restricted_sku_is_unknown_to_channels_it_is_not_listed_for(split_stock):
    listed, stranger = ChannelFactory(), ChannelFactory()
    split_stock.restricted = True
    split_stock.save()
    allocation_set(channel=listed, sku_code="CAPPED", cap=None, actor="t")

    with pytest.raises(UnknownSku) as refused:
        stock_reserve(order_id=1, lines=[LineRequest(1, "CAPPED", 1), LineRequest(2, "NOPE", 1)], actor="t",
                      channel_id=stranger.pk)
    assert (refused.value.codes, refused.value.not_sellable) == (["CAPPED", "NOPE"], ["CAPPED"])
    assert str(refused.value) == "Unknown SKU(s): CAPPED, NOPE."
    outcomes = stock_reserve_many(orders=[OrderStock(order_id=2, lines=[LineRequest(3, "CAPPED", 1)])], actor="t",
                                  channel_id=stranger.pk)
    assert isinstance(outcomes[2], UnknownSku)
    assert sellable_availability(sku_codes=["CAPPED"], channel=stranger) == {}

    assert stock_reserve(order_id=3, lines=[LineRequest(4, "CAPPED", 2)], actor="t", channel_id=listed.pk)
    assert _counter(listed) == 2  # an uncapped listing counts too, so a cap set later starts right
    assert stock_reserve(order_id=4, lines=[LineRequest(5, "CAPPED", 1)], actor="system")  # no channel: all SKUs
    assert_no_drift()


@pytest.mark.django_db
def test_a_channels_availability_view_is_one_query(split_stock, django_assert_num_queries):
    channel = ChannelFactory(stock_buffer=1)
    SkuFactory(code="OPEN")
    SkuFactory(code="HIDDEN", restricted=True)
    allocation_set(channel=channel, sku_code="CAPPED", cap=4, actor="t")
    with django_assert_num_queries(1):
        view = sellable_availability(sku_codes=["CAPPED", "OPEN", "HIDDEN", "NOPE"], channel=channel)
    assert view == {"CAPPED": 4, "OPEN": 0}


@pytest.mark.django_db
def test_allocation_arguments_are_checked(split_stock):
    channel = ChannelFactory()
    with pytest.raises(UnknownSku):
        allocation_set(channel=channel, sku_code="NOPE", cap=1, actor="t")
    with pytest.raises(Exception, match="cap must not be negative"):
        allocation_set(channel=channel, sku_code="CAPPED", cap=-1, actor="t")
    with pytest.raises(Exception, match="not a valid SKU code"):
        allocation_set(channel=channel, sku_code="CAP PED", cap=1, actor="t")
    assert not allocation_remove(channel=channel, sku_code="CAPPED", actor="t")
    assert not ChannelAllocation.objects.exists()
