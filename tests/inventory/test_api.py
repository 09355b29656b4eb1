import pytest

from channels_integration.models import Channel
from inventory.models import Sku, StockLevel, StockMovement
from inventory.services import LineRequest, allocation_set, stock_reserve
from tests.factories import ChannelFactory
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(make_api_client):
    """The stock system's key: it reads and writes the catalog and stock."""
    return make_api_client(channel=ChannelFactory(kind=Channel.Kind.STOCK),
                           scopes=["inventory:read", "inventory:write"])


def test_put_sku_creates_then_updates(client):
    response = client.put("/api/v1/skus/TSHIRT-M/", {"name": "T-shirt M", "safety_stock": 2}, format="json")
    assert response.status_code == 201
    assert response.json() == {"code": "TSHIRT-M", "name": "T-shirt M", "track_inventory": True, "safety_stock": 2}

    response = client.put("/api/v1/skus/TSHIRT-M/", {"name": "T-shirt medium", "track_inventory": False},
                          format="json")
    assert response.status_code == 200
    assert Sku.objects.get(code="TSHIRT-M").name == "T-shirt medium"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "x", "safety_stock": -1}, "safety_stock"), ({"name": "x", "safety_stock": "3"}, "safety_stock"),
     ({"safety_stock": 1}, "name")],
)
def test_put_sku_bad_input(client, body, field):
    response = client.put("/api/v1/skus/BAD/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["detail"].startswith(f"{field}:")
    assert not Sku.objects.exists()


def test_scope_is_required(make_api_client):
    client = make_api_client(scopes=["orders:read"])
    assert client.get("/api/v1/warehouses/").status_code == 403
    assert client.get("/api/v1/stock/?sku=X").status_code == 403
    assert client.put("/api/v1/skus/X/", {"name": "x"}, format="json").status_code == 403
    reader = make_api_client(scopes=["inventory:read"])
    assert reader.get("/api/v1/warehouses/").status_code == 200
    assert reader.put("/api/v1/skus/X/", {"name": "x"}, format="json").status_code == 403
    change = {"warehouse": "w", "delta": 1, "reason": "r"}
    assert reader.put("/api/v1/stock/X/", change, format="json").status_code == 403


def test_warehouses_list_in_priority_order(client, django_assert_max_num_queries):
    for i in range(10):
        WarehouseFactory(code=f"w{i}", priority=100 - i)
    with django_assert_max_num_queries(3):  # auth key lookup, last-used stamp, warehouses
        response = client.get("/api/v1/warehouses/")
    assert response.status_code == 200
    assert [w["code"] for w in response.json()][:2] == ["w9", "w8"]
    assert set(response.json()[0]) == {"code", "name", "priority", "country", "active"}


def test_stock_query_reports_available_per_sku(client, django_assert_max_num_queries):
    warehouse = WarehouseFactory(code="main")
    skus = [SkuFactory(code=f"Q{i}", safety_stock=1) for i in range(20)]
    for sku in skus:
        stock(sku, warehouse, 10)
    SkuFactory(code="GIFT", track_inventory=False)
    stock_reserve(order_id=1, lines=[LineRequest(1, "Q0", 4)], actor="t")

    query = "&".join(f"sku={s.code}" for s in skus) + "&sku=GIFT"
    with django_assert_max_num_queries(3):  # auth key lookup, last-used stamp, one aggregate query
        response = client.get(f"/api/v1/stock/?{query}")

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 21
    assert results[0] == {"sku": "Q0", "available": 5, "track_inventory": True}
    assert results[1]["available"] == 9
    assert results[-1] == {"sku": "GIFT", "available": None, "track_inventory": False}


def test_a_sales_channels_stock_query_is_one_query_with_buffer_caps_and_restrictions(
    make_api_client, django_assert_max_num_queries
):
    shop = make_api_client(channel=ChannelFactory(stock_buffer=2), scopes=["inventory:read"])
    warehouse = WarehouseFactory(code="main")
    for i in range(10):
        stock(SkuFactory(code=f"Q{i}", restricted=i % 2 == 1), warehouse, 10)
        if i % 3 == 0:
            allocation_set(channel=shop.channel, sku_code=f"Q{i}", cap=3, actor="t")
    listed = [f"Q{i}" for i in range(10) if i % 2 == 0 or i % 3 == 0]
    with django_assert_max_num_queries(3):  # auth key lookup, last-used stamp, one query for the view
        response = shop.get("/api/v1/stock/?" + "&".join(f"sku={code}" for code in listed))
    assert {r["sku"]: r["available"] for r in response.json()["results"]} == {
        "Q0": 3, "Q2": 8, "Q3": 3, "Q4": 8, "Q6": 3, "Q8": 8, "Q9": 3,
    }


def test_stock_query_bad_input(client):
    SkuFactory(code="A")
    response = client.get("/api/v1/stock/")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    response = client.get("/api/v1/stock/?sku=A&sku=NOPE")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_sku"
    assert response.json()["codes"] == ["NOPE"]


def test_put_stock_absolute_and_delta(client):
    warehouse = WarehouseFactory(code="main")
    sku = SkuFactory(code="A")
    stock(sku, warehouse, 3)

    response = client.put("/api/v1/stock/A/", {"warehouse": "main", "on_hand": 12, "reason": "count"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"sku": "A", "warehouse": "main", "on_hand": 12, "reserved": 0, "available": 12}

    response = client.put("/api/v1/stock/A/", {"warehouse": "main", "delta": -2, "reason": "damaged"}, format="json")
    assert response.json()["on_hand"] == 10
    movement = StockMovement.objects.order_by("-id").first()
    assert (movement.kind, movement.quantity, movement.actor) == ("adjustment", -2, f"api:{client.api_key.prefix}")


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("A", {"warehouse": "main", "on_hand": -1, "reason": "r"}, "invalid", "on_hand"),
        ("A", {"warehouse": "main", "on_hand": 1.5, "reason": "r"}, "invalid", "on_hand"),
        ("A", {"warehouse": "main", "on_hand": "7", "reason": "r"}, "invalid", "on_hand"),
        ("A", {"warehouse": "main", "delta": "x", "reason": "r"}, "invalid", "delta"),
        ("A", {"warehouse": "main", "delta": 0, "reason": "r"}, "invalid", "delta"),
        ("A", {"warehouse": "main", "delta": True, "reason": "r"}, "invalid", "delta"),
        ("A", {"warehouse": "main", "on_hand": 1, "delta": 1, "reason": "r"}, "invalid", "on_hand"),
        ("A", {"warehouse": "main", "reason": "r"}, "invalid", "on_hand"),
        ("A", {"warehouse": "main", "on_hand": 1}, "invalid", "reason"),
        ("A", {"on_hand": 1, "reason": "r"}, "invalid", "warehouse"),
        ("NOPE", {"warehouse": "main", "on_hand": 1, "reason": "r"}, "unknown_sku", "sku"),
        ("A", {"warehouse": "nowhere", "on_hand": 1, "reason": "r"}, "unknown_warehouse", "warehouse"),
        ("A", {"warehouse": "main", "on_hand": 3, "reason": "r"}, "below_reserved", "on_hand"),
        ("A", {"warehouse": "main", "delta": -7, "reason": "r"}, "below_reserved", "delta"),
    ],
)
def test_put_stock_bad_input_changes_nothing(client, path, body, code, field):
    warehouse = WarehouseFactory(code="main")
    sku = SkuFactory(code="A")
    stock(sku, warehouse, 10)
    stock_reserve(order_id=1, lines=[LineRequest(1, "A", 4)], actor="t")
    movements = StockMovement.objects.count()

    response = client.put(f"/api/v1/stock/{path}/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["detail"].startswith(field)
    assert StockMovement.objects.count() == movements
    assert StockLevel.objects.values_list("on_hand", "reserved").get() == (10, 4)


def test_openapi_schema_documents_the_stock_api(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert {"/api/v1/skus/{code}/", "/api/v1/warehouses/", "/api/v1/stock/", "/api/v1/stock/{sku}/"} <= set(paths)
    change = schema["components"]["schemas"]["StockChangeRequest"]
    assert {"warehouse", "on_hand", "delta", "reason"} <= set(change["properties"])
    assert change["properties"]["on_hand"]["type"] == "integer"
    stock_params = {p["name"]: p for p in paths["/api/v1/stock/"]["get"]["parameters"]}
    assert stock_params["sku"]["schema"]["type"] == "array"
    assert "400" in paths["/api/v1/stock/{sku}/"]["put"]["responses"]
