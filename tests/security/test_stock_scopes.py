"""Issue 16 item 1: stock has an owner. A sales channel's key reads availability; catalog and stock writes need
`inventory:write`, which only a stock system (warehouse/ERP principal) gets unless an operator records why."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from channels_integration.models import ApiKey, Channel
from channels_integration.services import api_key_create
from inventory.models import Sku, SkuChange, StockLevel, StockMovement
from tests.factories import ChannelFactory
from tests.harness.live_api import assert_error
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock


@pytest.fixture
def other_channels_sku(transactional_db):
    warehouse = WarehouseFactory(code="main")
    sku = SkuFactory(code="THEIRS-1", name="Another channel's product")
    stock(sku, warehouse, 10)
    return sku


def test_a_sales_channel_key_cannot_rename_untrack_or_restock_skus(make_live_api, other_channels_sku):
    api = make_live_api(scopes=["orders:write", "orders:read", "inventory:read"])

    renamed = api.put("/api/v1/skus/THEIRS-1/", {"name": "pwned", "track_inventory": False})
    restocked = api.put("/api/v1/stock/THEIRS-1/", {"warehouse": "main", "on_hand": 0, "reason": "mine now"})

    assert "inventory:write" in assert_error(renamed, 403, "permission_denied")["detail"]
    assert "inventory:write" in assert_error(restocked, 403, "permission_denied")["detail"]
    sku = Sku.objects.get(code="THEIRS-1")
    assert (sku.name, sku.track_inventory) == ("Another channel's product", True)
    assert StockLevel.objects.get(sku=sku).on_hand == 10
    assert StockMovement.objects.filter(kind="adjustment").count() == 0
    assert not SkuChange.objects.filter(actor=f"api:{api.api_key.prefix}").exists()


def test_a_sales_channel_key_reads_its_availability(make_live_api, other_channels_sku):
    api = make_live_api(scopes=["inventory:read"])
    response = api.get("/api/v1/stock/?sku=THEIRS-1")
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [{"sku": "THEIRS-1", "available": 10, "track_inventory": True}]
    assert api.get("/api/v1/warehouses/").status_code == 200


def test_a_write_key_without_read_cannot_query_availability(make_live_api, other_channels_sku):
    stock_system = ChannelFactory(code="erp", kind=Channel.Kind.STOCK)
    api = make_live_api(channel=stock_system, scopes=["inventory:write"])
    assert_error(api.get("/api/v1/stock/?sku=THEIRS-1"), 403, "permission_denied")


def test_stock_system_writes_are_audited_with_the_key_that_made_them(make_live_api, other_channels_sku):
    erp = ChannelFactory(code="erp", kind=Channel.Kind.STOCK)
    api = make_live_api(channel=erp, scopes=["inventory:read", "inventory:write"])
    actor = f"api:{api.api_key.prefix}"

    response = api.put("/api/v1/stock/THEIRS-1/", {"warehouse": "main", "delta": -3, "reason": "damaged"})
    assert response.status_code == 200, response.text
    response = api.put("/api/v1/skus/THEIRS-1/", {"name": "Renamed by the ERP", "safety_stock": 2})
    assert response.status_code == 200, response.text
    response = api.put("/api/v1/skus/NEW-1/", {"name": "New product"})
    assert response.status_code == 201, response.text

    movement = StockMovement.objects.get(kind="adjustment")
    assert (movement.actor, movement.quantity, movement.reason) == (actor, -3, "damaged")
    changes = {c.sku.code: c for c in SkuChange.objects.select_related("sku").filter(actor=actor)}
    assert changes["THEIRS-1"].changes == {
        "name": ["Another channel's product", "Renamed by the ERP"], "safety_stock": [0, 2],
    }
    assert changes["NEW-1"].changes == {
        "name": [None, "New product"], "track_inventory": [None, True], "safety_stock": [None, 0],
        "restricted": [None, False],
    }


@pytest.mark.django_db
def test_create_api_key_refuses_stock_writes_to_a_sales_channel():
    shop = ChannelFactory(code="shop", kind=Channel.Kind.SHOPIFY)
    with pytest.raises(CommandError, match="--allow-stock-write") as refused:
        call_command("create_api_key", "shop", "--scopes", "orders:write,inventory:write", stdout=StringIO())
    assert "--kind stock" in str(refused.value)
    with pytest.raises(ValidationError):
        api_key_create(channel=shop, scopes=["inventory:write"])
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_an_allowed_stock_write_for_a_sales_channel_is_recorded():
    ChannelFactory(code="shop")
    out = StringIO()
    call_command("create_api_key", "shop", "--scopes", "inventory:read,inventory:write",
                 "--allow-stock-write", "the shop's own ERP sends stock counts until it gets a principal", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["scopes"] == ["inventory:read", "inventory:write"]
    assert printed["stock_write_reason"] == "the shop's own ERP sends stock counts until it gets a principal"
    key = ApiKey.objects.get(prefix=printed["prefix"])
    assert key.stock_write_reason == printed["stock_write_reason"]


@pytest.mark.django_db
def test_a_stock_system_gets_write_access_without_an_exception():
    ChannelFactory(code="erp", kind=Channel.Kind.STOCK)
    out = StringIO()
    call_command("create_api_key", "erp", "--scopes", "inventory:read,inventory:write", stdout=out)
    key = ApiKey.objects.get(prefix=json.loads(out.getvalue())["prefix"])
    assert (key.scopes, key.stock_write_reason) == (["inventory:read", "inventory:write"], "")


@pytest.mark.django_db
def test_the_old_catch_all_scope_is_refused_with_the_new_names():
    with pytest.raises(CommandError, match="inventory:read"):
        call_command("create_api_key", ChannelFactory().code, "--scopes", "inventory", stdout=StringIO())
