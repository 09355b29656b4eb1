import pytest
from django.urls import reverse

from inventory.models import ChannelAllocation, Sku, SkuChange, StockLevel, StockMovement, Warehouse
from inventory.services import LineRequest, allocation_set, sku_upsert, stock_reserve
from tests.factories import ChannelFactory
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked():
    warehouses = [WarehouseFactory(code=f"w{i}", priority=i) for i in range(3)]
    skus = [SkuFactory(code=f"S{i:02d}", safety_stock=2) for i in range(12)]
    for sku in skus:
        for warehouse in warehouses:
            stock(sku, warehouse, 5)
    channels = [ChannelFactory() for _ in range(3)]
    for i, sku in enumerate(skus):
        stock_reserve(order_id=i + 1, lines=[LineRequest(i, sku.code, 4)], actor="t", channel_id=channels[i % 3].pk)
        allocation_set(channel=channels[i % 3], sku_code=sku.code, cap=10 + i, actor="user:op")
        sku_upsert(code=sku.code, name=f"Renamed {i}", safety_stock=2, actor="user:op")
    return skus, warehouses


@pytest.mark.parametrize("model", ["sku", "warehouse", "stocklevel", "stockmovement", "reservation",
                                   "channelallocation", "skuchange"])
def test_changelists_use_a_bounded_number_of_queries(admin_client, stocked, model, django_assert_max_num_queries):
    url = reverse(f"admin:inventory_{model}_changelist")
    with django_assert_max_num_queries(7):  # session, user, counts, one page of rows: never per row
        response = admin_client.get(url)
    assert response.status_code == 200


def test_stock_levels_show_available_and_highlight_low_stock(admin_client, stocked):
    response = admin_client.get(reverse("admin:inventory_stocklevel_changelist") + "?low=yes")
    body = response.content.decode()
    assert response.status_code == 200
    # Each SKU reserved 4 units in its first warehouse (5 on hand): 1 free <= safety stock 2.
    assert body.count("1 (low)") == 12
    assert response.context["cl"].result_count == 12


def test_sku_changelist_shows_available_to_sell(admin_client, stocked):
    response = admin_client.get(reverse("admin:inventory_sku_changelist") + "?q=S00")
    sku = response.context["cl"].result_list[0]
    assert (sku.total_on_hand, sku.total_reserved, sku.available_to_sell) == (15, 4, 9)


def test_ledger_per_sku_is_read_only(admin_client, stocked):
    skus, _ = stocked
    response = admin_client.get(reverse("admin:inventory_stockmovement_changelist") + f"?sku={skus[0].pk}")
    assert response.status_code == 200
    assert {m.sku_id for m in response.context["cl"].result_list} == {skus[0].pk}
    assert response.context["cl"].result_count == 4  # three receipts and one reservation
    movement = StockMovement.objects.first()
    assert admin_client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    delete_url = reverse("admin:inventory_stockmovement_delete", args=[movement.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    change_url = reverse("admin:inventory_stockmovement_change", args=[movement.pk])
    admin_client.post(change_url, {"quantity": 999})
    movement.refresh_from_db()
    assert movement.quantity != 999


def test_adjust_form_calls_the_service(admin_client, stocked):
    url = reverse("admin:inventory_stocklevel_adjust")
    assert admin_client.get(url + "?sku=S01&warehouse=w2").status_code == 200

    response = admin_client.post(url, {"sku": "S01", "warehouse": "w2", "mode": "delta", "quantity": 3,
                                       "reason": "found in aisle 4"})

    assert response.status_code == 302
    assert StockLevel.objects.get(sku__code="S01", warehouse__code="w2").on_hand == 8
    movement = StockMovement.objects.filter(kind="adjustment").get()
    assert (movement.actor, movement.reason, movement.quantity) == ("user:admin", "found in aisle 4", 3)


def test_adjust_form_refuses_below_reserved_and_changes_nothing(admin_client, stocked):
    response = admin_client.post(reverse("admin:inventory_stocklevel_adjust"),
                                 {"sku": "S01", "warehouse": "w0", "mode": "on_hand", "quantity": 2, "reason": "c"})
    assert response.status_code == 200
    assert "below the 4 unit(s) reserved" in response.content.decode()
    assert StockLevel.objects.get(sku__code="S01", warehouse__code="w0").on_hand == 5
    assert not StockMovement.objects.filter(kind="adjustment").exists()


def test_sku_and_warehouse_admin_save_through_services(admin_client):
    response = admin_client.post(reverse("admin:inventory_sku_add"),
                                 {"code": "NEW", "name": "New", "track_inventory": "on", "safety_stock": 1})
    assert response.status_code == 302
    sku = Sku.objects.get(code="NEW")
    warehouse = WarehouseFactory(code="w")
    level = stock(sku, warehouse, 5)
    response = admin_client.post(reverse("admin:inventory_sku_change", args=[sku.pk]),
                                 {"name": "New", "track_inventory": "on", "safety_stock": 3})
    assert response.status_code == 302
    assert Sku.objects.get(code="NEW").safety_stock == 3
    # Only the service marks the stock feed when the safety stock (so available-to-sell) changes.
    assert StockLevel.objects.get(pk=level.pk).version == level.version + 1
    response = admin_client.post(reverse("admin:inventory_warehouse_add"),
                                 {"code": "dc", "name": "DC", "priority": 5, "country": "de", "active": "on"})
    assert response.status_code == 302
    assert Warehouse.objects.get(code="dc").country == "DE"  # the service normalises the country code


def test_reservation_search_by_order_or_sku(admin_client, stocked):
    url = reverse("admin:inventory_reservation_changelist")
    assert admin_client.get(url + "?q=12").context["cl"].result_count == 1  # order 12 (no SKU code has "12")
    assert admin_client.get(url + "?q=S01").context["cl"].result_count == 1
    assert admin_client.get(url + "?q=nothing").context["cl"].result_count == 0


def test_allocations_are_saved_and_removed_through_the_service(admin_client, admin_user):
    sku = SkuFactory(code="EXCL", restricted=True)
    channel = ChannelFactory(code="partner")
    response = admin_client.post(reverse("admin:inventory_channelallocation_add"),
                                 {"channel": channel.pk, "sku": sku.pk, "cap": 3})
    assert response.status_code == 302, response.context["adminform"].form.errors
    allocation = ChannelAllocation.objects.get()
    assert (allocation.cap, allocation.reserved) == (3, 0)
    response = admin_client.post(reverse("admin:inventory_channelallocation_change", args=[allocation.pk]),
                                 {"cap": ""})
    assert response.status_code == 302
    assert ChannelAllocation.objects.get().cap is None
    response = admin_client.post(reverse("admin:inventory_channelallocation_delete", args=[allocation.pk]),
                                 {"post": "yes"})
    assert response.status_code == 302
    assert not ChannelAllocation.objects.exists()
    actor = f"user:{admin_user.username}"
    assert list(SkuChange.objects.order_by("id").values_list("actor", "changes")) == [
        (actor, {"allocation:partner": [None, {"cap": 3}]}),
        (actor, {"allocation:partner": [{"cap": 3}, {"cap": None}]}),
        (actor, {"allocation:partner": [{"cap": None}, None]}),
    ]


def test_sku_page_shows_its_allocations_and_saves_restricted_with_the_operator(admin_client, admin_user):
    sku = SkuFactory(code="EXCL")
    allocation_set(channel=ChannelFactory(code="partner"), sku_code="EXCL", cap=4, actor="t")
    page = admin_client.get(reverse("admin:inventory_sku_change", args=[sku.pk])).content.decode()
    assert "partner (cap 4, holds 0)" in page
    response = admin_client.post(reverse("admin:inventory_sku_change", args=[sku.pk]),
                                 {"name": sku.name, "track_inventory": "on", "safety_stock": 0, "restricted": "on"})
    assert response.status_code == 302
    assert Sku.objects.get(pk=sku.pk).restricted
    change = SkuChange.objects.filter(changes__has_key="restricted").get()
    assert (change.actor, change.changes) == (f"user:{admin_user.username}", {"restricted": [False, True]})


def test_the_catalog_audit_trail_is_read_only(admin_client):
    sku_upsert(code="AUD", name="Audited", actor="t")
    change = SkuChange.objects.get()
    changelist = reverse("admin:inventory_skuchange_changelist") + f"?sku={change.sku_id}"
    assert admin_client.get(changelist).context["cl"].result_count == 1
    assert admin_client.post(reverse("admin:inventory_skuchange_change", args=[change.pk]), {}).status_code == 403
    assert admin_client.get(reverse("admin:inventory_skuchange_add")).status_code == 403
