"""Issue 16 item 7 (SKU part): one SKU code pattern everywhere. What can be created can be ordered and vice versa;
look-alike codes (spaces, zero-width or bidi characters, HTML) are refused at both doors."""

import pytest

from channels_integration.models import Channel
from inventory.codes import SKU_CODE_MAX_LENGTH
from inventory.models import Sku
from orders.models import Order
from tests.factories import ChannelFactory
from tests.harness.live_api import assert_error
from tests.inventory.factories import WarehouseFactory
from tests.orders.factories import order_body

LOOK_ALIKES = [
    "TSHIRT M",          # inner space
    "TSHIRT-M ",         # trailing space
    " TSHIRT-M",         # leading space
    "TSHIRT\u200b-M",    # zero-width space
    "TSHIRT-\u202eM",    # right-to-left override
    "TSHIRT-\u041c",     # Cyrillic М
    "<b>TSHIRT</b>",     # HTML
    "TSHIRT\t-M",
    "TSHIRT-M\n",
]


@pytest.fixture
def apis(make_live_api, transactional_db):
    WarehouseFactory(code="main")
    erp = make_live_api(channel=ChannelFactory(code="erp", kind=Channel.Kind.STOCK),
                   scopes=["inventory:read", "inventory:write"])
    shop = make_live_api(scopes=["orders:write", "orders:read", "inventory:read"])
    return erp, shop


def _order(code: str) -> dict:
    return order_body(lines=[{"sku": code, "name": "x", "quantity": 1, "unit_price": "1.00"}])


def test_the_longest_code_can_be_created_stocked_and_ordered(apis):
    erp, shop = apis
    code = "L" * SKU_CODE_MAX_LENGTH
    assert erp.put(f"/api/v1/skus/{code}/", {"name": "longest"}).status_code == 201
    assert erp.put(f"/api/v1/stock/{code}/", {"warehouse": "main", "on_hand": 5, "reason": "count"}).status_code == 200
    response = shop.post("/api/v1/orders/", _order(code))
    assert response.status_code == 201, response.text
    assert response.json()["lines"][0]["sku"] == code


def test_one_character_more_is_refused_at_both_doors(apis):
    erp, shop = apis
    code = "L" * (SKU_CODE_MAX_LENGTH + 1)
    assert_error(erp.put(f"/api/v1/skus/{code}/", {"name": "too long"}), 400, "invalid")
    body = assert_error(shop.post("/api/v1/orders/", _order(code)), 400, "invalid")
    assert body["detail"].startswith("lines")
    assert not Sku.objects.exists() and not Order.objects.exists()


@pytest.mark.parametrize("code", LOOK_ALIKES)
def test_look_alike_codes_are_refused_at_both_doors(apis, code):
    erp, shop = apis
    from urllib.parse import quote

    created = erp.put(f"/api/v1/skus/{quote(code, safe='')}/", {"name": "look-alike"})
    if any(ord(c) < 32 for c in code):  # control characters in a path stop at the API-wide input guard
        assert_error(created, 400, "invalid_characters")
    else:
        assert_error(created, 400, "invalid")
        assert "SKU code" in created.json()["detail"]
    ordered = shop.post("/api/v1/orders/", _order(code))
    assert_error(ordered, 400, "invalid")
    assert "SKU code" in ordered.json()["detail"]
    assert not Sku.objects.exists() and not Order.objects.exists()


def test_a_number_is_not_a_sku_code(apis):
    _erp, shop = apis
    assert_error(shop.post("/api/v1/orders/", _order(12345)), 400, "invalid")


def test_the_schema_publishes_the_same_pattern_at_every_door(live_server, transactional_db):
    import requests

    from inventory.codes import SKU_CODE_SCHEMA_PATTERN

    schema = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30).json()
    line = schema["components"]["schemas"]["OrderLineInRequest"]["properties"]["sku"]
    assert (line["pattern"], line["maxLength"]) == (SKU_CODE_SCHEMA_PATTERN, SKU_CODE_MAX_LENGTH)
    paths = schema["paths"]
    for path, method, name in (("/api/v1/skus/{code}/", "put", "code"), ("/api/v1/stock/{sku}/", "put", "sku"),
                               ("/api/v1/stock/", "get", "sku")):
        parameter = next(p for p in paths[path][method]["parameters"] if p["name"] == name)
        schema_of = parameter["schema"].get("items", parameter["schema"])
        assert schema_of["pattern"] == SKU_CODE_SCHEMA_PATTERN, (path, parameter)
