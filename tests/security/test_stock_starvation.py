"""Issue 16 item 2: one channel cannot starve the others of a shared SKU.

The levers: a per-channel buffer on the availability view, a per-channel allocation cap that reservations cannot
race past, a default reservation expiry for unpaid orders, and zero-price orders held for review."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_integration.models import Channel
from inventory.models import ChannelAllocation, Reservation
from inventory.services import allocation_set
from orders.models import Order, OrderStatusChange
from sync.models import Event
from tests.factories import ChannelFactory
from tests.harness.live_api import assert_error
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock
from tests.orders.factories import order_body

ORDER_SCOPES = ["orders:write", "orders:read", "inventory:read"]


@pytest.fixture
def shared(transactional_db):
    """20 units of one SKU that every channel sells."""
    stock(SkuFactory(code="SHARED-1"), WarehouseFactory(code="main"), 20)
    return "SHARED-1"


def _order(sku: str, quantity: int, price: str = "10.00", **overrides) -> dict:
    return order_body(lines=[{"sku": sku, "name": "Shared", "quantity": quantity, "unit_price": price}], **overrides)


def test_the_channel_buffer_is_kept_back_from_its_availability_view(make_live_api, shared):
    buffered = make_live_api(channel=ChannelFactory(stock_buffer=3), scopes=ORDER_SCOPES)
    plain = make_live_api(scopes=ORDER_SCOPES)
    assert buffered.get(f"/api/v1/stock/?sku={shared}").json()["results"][0]["available"] == 17
    assert plain.get(f"/api/v1/stock/?sku={shared}").json()["results"][0]["available"] == 20


def test_an_allocation_cap_bounds_what_one_channel_holds_and_leaves_the_rest_to_others(make_live_api, shared):
    greedy = make_live_api(channel=ChannelFactory(insufficient_stock_policy=Channel.StockPolicy.REJECT),
                           scopes=ORDER_SCOPES)
    other = make_live_api(scopes=ORDER_SCOPES)
    allocation_set(channel=greedy.channel, sku_code=shared, cap=5, actor="user:operator")

    assert greedy.get(f"/api/v1/stock/?sku={shared}").json()["results"][0]["available"] == 5
    assert greedy.post("/api/v1/orders/", _order(shared, 4)).status_code == 201
    refused = assert_error(greedy.post("/api/v1/orders/", _order(shared, 2)), 409, "insufficient_stock")
    assert refused["shortages"] == [{"sku": shared, "requested": 2, "available": 1}]
    assert greedy.get(f"/api/v1/stock/?sku={shared}").json()["results"][0]["available"] == 1

    assert other.post("/api/v1/orders/", _order(shared, 16)).status_code == 201
    assert ChannelAllocation.objects.get(channel=greedy.channel).reserved == 4


def test_concurrent_orders_cannot_race_past_the_cap(make_live_api, shared):
    greedy = make_live_api(channel=ChannelFactory(insufficient_stock_policy=Channel.StockPolicy.REJECT),
                           scopes=ORDER_SCOPES)
    allocation_set(channel=greedy.channel, sku_code=shared, cap=5, actor="user:operator")

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda i: greedy.post("/api/v1/orders/", _order(shared, 1)).status_code, range(12)))

    assert sorted(answers) == [201] * 5 + [409] * 7
    held = Reservation.objects.filter(channel_id=greedy.channel.pk, state=Reservation.State.ACTIVE)
    assert sum(r.quantity for r in held) == 5 == ChannelAllocation.objects.get(channel=greedy.channel).reserved


def test_unpaid_orders_of_a_channel_without_a_ttl_expire_after_the_default(make_live_api, shared, settings):
    settings.ORDERS_DEFAULT_RESERVATION_TTL = timedelta(minutes=30)
    api = make_live_api(scopes=ORDER_SCOPES)
    before = timezone.now()
    response = api.post("/api/v1/orders/", _order(shared, 2))
    assert response.status_code == 201, response.text
    reservation = Reservation.objects.get(order_id=response.json()["id"])
    assert before + timedelta(minutes=30) <= reservation.expires_at <= timezone.now() + timedelta(minutes=30)

    own = make_live_api(channel=ChannelFactory(reservation_ttl=timedelta(minutes=5)), scopes=ORDER_SCOPES)
    response = own.post("/api/v1/orders/", _order(shared, 1))
    assert Reservation.objects.get(order_id=response.json()["id"]).expires_at <= timezone.now() + timedelta(minutes=5)


def test_zero_price_orders_are_held_for_review_without_taking_stock(make_live_api, shared):
    api = make_live_api(scopes=ORDER_SCOPES)
    response = api.post("/api/v1/orders/", _order(shared, 20, price="0.00"))
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "on_hold"
    assert order["hold_reason"] == "zero-price order: held for review (this channel does not allow zero-price orders)"
    assert not Reservation.objects.filter(order_id=order["id"]).exists()
    assert api.get(f"/api/v1/stock/?sku={shared}").json()["results"][0]["available"] == 20

    hold = OrderStatusChange.objects.filter(order_id=order["id"], transition="hold").get()
    assert (hold.actor, hold.from_status, hold.to_status) == ("system", "new", "on_hold")
    assert hold.payload == {"rule": "zero_price"}
    assert list(Event.objects.filter(order_id=order["id"]).order_by("sequence").values_list("topic", flat=True)) == [
        "order.created", "order.on_hold",
    ]

    bulk = api.post("/api/v1/orders/bulk/", {"orders": [_order(shared, 5, price="0.00"), _order(shared, 1)]})
    statuses = [item["body"]["status"] for item in bulk.json()["results"]]
    assert statuses == ["on_hold", "new"]
    assert Reservation.objects.filter(state="active").count() == 1


def test_a_channel_that_allows_zero_price_orders_reserves_them(make_live_api, shared):
    api = make_live_api(channel=ChannelFactory(allow_zero_price_orders=True), scopes=ORDER_SCOPES)
    response = api.post("/api/v1/orders/", _order(shared, 2, price="0.00"))
    assert response.json()["status"] == "new"
    assert Reservation.objects.get(order_id=response.json()["id"]).quantity == 2


def test_zero_price_orders_for_unknown_skus_are_still_refused(make_live_api, shared):
    api = make_live_api(scopes=ORDER_SCOPES)
    assert_error(api.post("/api/v1/orders/", _order("NOPE-1", 1, price="0.00")), 400, "unknown_sku")
    assert not Order.objects.exists()
