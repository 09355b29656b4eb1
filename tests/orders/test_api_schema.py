"""The published OpenAPI schema matches the code: schemathesis fuzzes every channel API operation over HTTP against
a live server (DEBUG off), with valid and invalid data in path, query, headers and body, NUL bytes and other
control characters included, and no answer may be a 5xx or disagree with the schema."""

import re

import pytest
import schemathesis
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from channels_integration.scopes import ALL_SCOPES
from tests.factories import ApiKeyFactory
from tests.orders.factories import make_order, stock_skus

# Loaded in process exactly as clients fetch it; the calls go to the live server over real HTTP.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
# Positive and negative data; strings may hold NUL and any other character (what a hostile client sends).
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], allow_x00=True,
                                codec="utf-8")


@pytest.fixture
def fuzz_target(live_server, channel):
    """A key with every scope, SKU-A/SKU-B in stock and one order of its own, so fuzzed requests get past auth."""
    stock_skus("SKU-A", "SKU-B", quantity=100)
    make_order(channel)
    issued = ApiKeyFactory.issue(channel=channel, scopes=list(ALL_SCOPES),
                                 stock_write_reason="schema fuzzing exercises the stock writes too")
    return live_server.url, {"Authorization": f"Bearer {issued.secret}"}


@schema.include(path_regex="^/api/v1/").parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_api_operation_conforms_to_its_schema(case, fuzz_target):
    """Every default check except positive_data_acceptance: business rules the schema cannot express (unknown
    SKU, decimals allowed by the chosen currency, a total that must add up) rightly reject schema-valid bodies."""
    base_url, auth = fuzz_target
    response = case.call_and_validate(base_url=base_url, headers=auth, excluded_checks=[positive_data_acceptance],
                                      timeout=30)
    assert response.status_code < 500


def test_the_fuzz_run_covers_every_api_operation_and_its_query_parameters(client):
    """The parametrized test above runs once per operation the schema lists; this pins what that list is, so an
    endpoint left out of the schema (and so out of the fuzzing) fails here."""
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    operations = {f"{method.upper()} {path}" for path, item in paths.items() if path.startswith("/api/v1/")
                  for method in item}
    assert operations == {
        "GET /api/v1/orders/", "POST /api/v1/orders/", "POST /api/v1/orders/bulk/", "GET /api/v1/orders/{id}/",
        "GET /api/v1/orders/{id}/history/", "POST /api/v1/orders/{id}/transitions/{name}/",
        "PUT /api/v1/skus/{code}/", "GET /api/v1/warehouses/", "GET /api/v1/stock/", "PUT /api/v1/stock/{sku}/",
        "GET /api/v1/sku-mappings/", "GET /api/v1/sku-mappings/{sku}/", "PUT /api/v1/sku-mappings/{sku}/",
    }
    query = {p["name"] for p in paths["/api/v1/orders/"]["get"]["parameters"] if p["in"] == "query"}
    assert query == {"cursor", "limit", "status", "updated_since", "external_id"}
    assert {p["name"] for p in paths["/api/v1/stock/"]["get"]["parameters"] if p["in"] == "query"} == {"sku"}
    assert paths["/api/v1/orders/"]["post"]["security"] == [{"ApiKey": []}]
    for path, item in paths.items():
        for method, operation in item.items():
            if path.startswith("/api/v1/"):
                assert {"400", "401", "403", "429"} <= set(operation["responses"]), f"{method} {path}"


def test_docs_page_loads_no_asset_from_another_host(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html) + re.findall(r"https?://[^\s\"'<>]+", html)
    assert urls, "expected the page to reference its (local) assets"
    external = [u for u in urls if re.match(r"^(https?:)?//", u) and "testserver" not in u]
    assert external == []


def test_schema_generates_without_warnings_and_validates(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/orders/{id}/transitions/{name}/" in out.read_text()
