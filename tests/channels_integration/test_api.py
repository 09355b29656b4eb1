"""The SKU mapping API (scope `inventory`) and finding a channel's order by its own id."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from channels_integration.connectors.inbound import inbound_process, inbound_receive
from channels_integration.connectors.payload import Identity
from channels_integration.models import SkuMapping
from tests.channels_integration.payloads import encode, shopify_order

pytestmark = pytest.mark.django_db
MAPPINGS = "/api/v1/sku-mappings/"
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


def test_a_channel_sets_reads_and_lists_its_own_mappings(make_api_client, shop, woo,
                                                        django_assert_max_num_queries):
    api = make_api_client(channel=shop, scopes=["inventory:read"])
    created = api.put(f"{MAPPINGS}IPOD2008RED/", {"inventory_item_id": 808950810, "location_id": 905684977,
                                                  "variant_id": 49148385}, format="json")
    assert created.status_code == 201
    assert created.json()["sku_code"] == "IPOD2008RED" and created.json()["last_pushed_available"] is None
    updated = api.put(f"{MAPPINGS}IPOD2008RED/", {"inventory_item_id": 808950811, "location_id": 905684977},
                      format="json")
    assert updated.status_code == 200 and updated.json()["inventory_item_id"] == 808950811
    assert api.get(f"{MAPPINGS}IPOD2008RED/").json()["variant_id"] is None
    for i in range(5):
        api.put(f"{MAPPINGS}SKU-{i}/", {"inventory_item_id": 10 + i, "location_id": 1}, format="json")
    with django_assert_max_num_queries(4):
        listed = api.get(MAPPINGS, {"limit": 3})
    assert [m["sku_code"] for m in listed.json()["results"]] == ["IPOD2008RED", "SKU-0", "SKU-1"]
    assert listed.json()["next"]

    other = make_api_client(channel=woo, scopes=["inventory:read"])
    assert other.get(f"{MAPPINGS}IPOD2008RED/").status_code == 404
    assert other.get(MAPPINGS).json()["results"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"location_id": 1}, "inventory_item_id"),
    ({"inventory_item_id": 1}, "location_id"),
    ({"inventory_item_id": -1, "location_id": 1}, "inventory_item_id"),
    ({"inventory_item_id": 2**63, "location_id": 1}, "inventory_item_id"),
    ({"inventory_item_id": "abc", "location_id": 1}, "inventory_item_id"),
])
def test_a_mapping_without_what_the_channel_needs_is_refused_naming_the_field(make_api_client, shop, body, field):
    api = make_api_client(channel=shop, scopes=["inventory:read"])
    response = api.put(f"{MAPPINGS}X/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]
    assert not SkuMapping.objects.exists()


def test_mappings_need_the_inventory_scope(make_api_client, shop):
    api = make_api_client(channel=shop, scopes=["orders:read"])
    assert api.get(MAPPINGS).status_code == 403


def test_a_webhook_order_is_found_by_the_channels_own_64_bit_id(make_api_client, shop, catalogue):
    message = inbound_receive(channel=shop, identity=Identity(topic="orders/create", dedupe_key="k"), headers={},
                              body=encode(shopify_order(order_id=987654321098765432)))
    inbound_process(message_id=message.pk)
    api = make_api_client(channel=shop, scopes=["orders:read"])
    found = api.get("/api/v1/orders/", {"external_id": "987654321098765432"}).json()["results"]
    assert [o["external_id"] for o in found] == ["987654321098765432"]
    assert api.get("/api/v1/orders/", {"external_id": "987654321098765431"}).json()["results"] == []


@pytest.fixture
def fuzz_auth(db, make_api_client, shop):
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    client = make_api_client(channel=shop, scopes=["inventory:read"])
    yield {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.include(path_regex="^/api/v1/sku-mappings").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_mapping_api_conforms_to_its_schema(case, fuzz_auth):
    response = case.call_and_validate(headers=fuzz_auth, excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500
