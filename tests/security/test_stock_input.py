"""Issue 16 item 3 (inventory): crafted stock requests get a 4xx in the error shape, never a 500, and change nothing."""

import pytest

from channels_integration.models import Channel
from inventory.models import Sku, StockLevel, StockMovement
from tests.factories import ChannelFactory
from tests.harness.live_api import assert_error
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock

MAX_INT = 2**31 - 1


@pytest.fixture
def erp(make_live_api, transactional_db):
    stock(SkuFactory(code="A-1"), WarehouseFactory(code="main"), 10)
    return make_live_api(channel=ChannelFactory(code="erp", kind=Channel.Kind.STOCK),
                    scopes=["inventory:read", "inventory:write"])


def _unchanged():
    assert StockLevel.objects.values_list("on_hand", "reserved").get() == (10, 0)
    assert StockMovement.objects.count() == 1


def test_a_delta_that_overflows_the_stock_column_is_refused(erp):
    body = assert_error(erp.put("/api/v1/stock/A-1/", {"warehouse": "main", "delta": MAX_INT, "reason": "r"}),
                        400, "invalid_quantity")
    assert body["field"] == "delta"
    assert str(MAX_INT) in body["detail"]
    _unchanged()


def test_an_absolute_count_beyond_the_column_is_refused(erp):
    assert_error(erp.put("/api/v1/stock/A-1/", {"warehouse": "main", "on_hand": MAX_INT + 1, "reason": "r"}),
                 400, "invalid")
    _unchanged()


@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_a_300_character_sku_code_is_refused(erp, method):
    code = "A" * 300
    if method == "PUT":
        for path, body in ((f"/api/v1/skus/{code}/", {"name": "long"}),
                           (f"/api/v1/stock/{code}/", {"warehouse": "main", "delta": 1, "reason": "r"})):
            answer = assert_error(erp.put(path, body), 400, "invalid")
            assert code not in answer["detail"], "the error must not echo the input"
    else:
        assert_error(erp.get(f"/api/v1/stock/?sku={code}"), 400, "invalid")
    assert not Sku.objects.filter(code__startswith="AAAA").exists()
    _unchanged()


@pytest.mark.parametrize("path", ["/api/v1/skus/%00/", "/api/v1/stock/%00/", "/api/v1/skus/A-1%00/",
                                  "/api/v1/stock/A%00B/"])
def test_a_nul_byte_in_an_inventory_path_is_refused(erp, path):
    body = {"name": "x"} if "/skus/" in path else {"warehouse": "main", "delta": 1, "reason": "r"}
    # The API-wide input guard (ordersync.middleware) answers before the view sees the path.
    assert_error(erp.put(path, body), 400, "invalid_characters")
    _unchanged()


def test_a_nul_byte_in_the_stock_query_is_refused(erp):
    assert_error(erp.get("/api/v1/stock/?sku=A-1&sku=%00"), 400, "invalid_characters")
