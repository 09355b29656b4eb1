"""The published OpenAPI schema matches the code: a schemathesis fuzz run against it never gets a 5xx."""

import re

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.orders.conftest import ALL_ORDER_SCOPES
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db


# Loaded from the running app (WSGI, in process) exactly as clients fetch it.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def keep_test_connection(db):
    """Like Django's test client: keep the test's connection (and its transaction) open across requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_auth(keep_test_connection, make_api_client, channel, skus):
    """A key with every scope, SKU-A/SKU-B in stock and one order of its own, so fuzzed requests get past auth."""
    client = make_api_client(channel=channel, scopes=ALL_ORDER_SCOPES + ["inventory:read"])
    make_order(channel)
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}


@schema.include(path_regex="^/api/v1/orders").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_orders_api_conforms_to_its_schema(case, fuzz_auth):
    """Every default check except positive_data_acceptance: business rules the schema cannot express (unknown
    SKU, decimals allowed by the chosen currency, a total that must add up) rightly reject schema-valid bodies."""
    response = case.call_and_validate(headers=fuzz_auth, excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500


def test_schema_documents_every_orders_operation(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {p for p in paths if p.startswith("/api/v1/orders")} == {
        "/api/v1/orders/", "/api/v1/orders/bulk/", "/api/v1/orders/{id}/", "/api/v1/orders/{id}/history/",
        "/api/v1/orders/{id}/transitions/{name}/",
    }
    assert paths["/api/v1/orders/"]["post"]["security"] == [{"ApiKey": []}]


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
