"""The channel API over real HTTP: a key's session against a live server, and every operation the schema lists.

`LiveApi` sends requests as an integrator would (requests, real sockets). `api_operations(api, samples)` reads the
published OpenAPI schema and returns every `/api/v1/` operation with its path parameters filled from `samples`
(parameter name -> value); a parameter without a sample fails loudly, so a new endpoint cannot slip past the tests
that iterate over all of them.

Fixtures (pytest-django's `live_server`: a real HTTP server in a thread of the test process, DEBUG off):
`make_live_api(channel=, scopes=)`, `live_api` (every scope, SKU-A/SKU-B in stock, one order: `live_api.order`)
and `operations` (every operation, path parameters filled with live_api's data).
"""

from dataclasses import dataclass

import pytest
import requests

HTTP_METHODS = ("get", "put", "post", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # e.g. /api/v1/orders/{id}/
    path: str  # the template with its parameters filled in
    has_body: bool

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template}"


class LiveApi:
    def __init__(self, base: str, key: str | None, channel=None, api_key=None):
        self.base, self.key, self.channel, self.api_key = base.rstrip("/"), key, channel, api_key
        self.session = requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base + path

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method.upper(), self.url(path), **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("get", path, **kwargs)

    def post(self, path: str, body=None, **kwargs) -> requests.Response:
        """`body`, when given, is sent as JSON."""
        return self.request("post", path, **({"json": body} if body is not None else {}), **kwargs)

    def put(self, path: str, body=None, **kwargs) -> requests.Response:
        return self.request("put", path, **({"json": body} if body is not None else {}), **kwargs)

    def schema(self) -> dict:
        response = requests.get(self.url("/api/schema/"), headers={"Accept": "application/json"}, timeout=30)
        response.raise_for_status()
        return response.json()


def api_operations(api: LiveApi, samples: dict[str, str]) -> list[Operation]:
    operations = []
    for template, item in sorted(api.schema()["paths"].items()):
        if not template.startswith("/api/v1/"):
            continue
        for method in HTTP_METHODS:
            if method not in item:
                continue
            names = [p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"]
            missing = [n for n in names if n not in samples]
            assert not missing, f"{method.upper()} {template}: give a sample value for path parameter(s) {missing}"
            path = template
            for name in names:
                path = path.replace("{" + name + "}", samples[name])
            operations.append(Operation(method, template, path, "requestBody" in item[method]))
    return operations


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    """The answer is `status` in the API's one error shape with this `code`; returns the body."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert is_error_shape(response), response.text[:500]
    body = response.json()
    assert body["code"] == code and body["detail"], body
    return body


def is_error_shape(response: requests.Response) -> bool:
    """The API's one error shape: JSON with a stable `code` and a readable `detail`."""
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return False
    body = response.json()
    return isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("detail"), str)


@pytest.fixture
def make_live_api(live_server):
    """A session for a new key of `channel` (a new EUR channel by default) holding `scopes` (default: all)."""
    from channels_integration.scopes import ALL_SCOPES, STOCK_SYSTEM_SCOPES
    from tests.factories import ApiKeyFactory, ChannelFactory

    def make(*, channel=None, scopes=ALL_SCOPES, **key_options) -> LiveApi:
        """A sales channel's key with stock-system scopes needs a recorded reason; tests give one by default."""
        channel = channel or ChannelFactory(currency="EUR")
        if STOCK_SYSTEM_SCOPES & set(scopes) and channel.is_sales_channel:
            key_options.setdefault("stock_write_reason", "a test key with stock writes")
        issued = ApiKeyFactory.issue(channel=channel, scopes=list(scopes), **key_options)
        return LiveApi(live_server.url, issued.secret, issued.api_key.channel, issued.api_key)

    return make


@pytest.fixture
def live_api(make_live_api):
    from tests.orders.factories import make_order, stock_skus

    stock_skus("SKU-A", "SKU-B", quantity=100)
    api = make_live_api()
    api.order = make_order(api.channel)
    return api


@pytest.fixture
def operations(live_api) -> list[Operation]:
    return api_operations(live_api, {"id": str(live_api.order.pk), "name": "hold", "code": "SKU-A", "sku": "SKU-A"})
