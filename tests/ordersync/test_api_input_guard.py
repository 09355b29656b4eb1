"""No input reaches a 500: NUL bytes and control characters in the path, query, headers or JSON body of any API
operation are refused with 400 `invalid_characters` before a view (or PostgreSQL) sees them."""

import pytest

from tests.harness.live_api import is_error_shape

BAD_TEXT = ["\x00", "a\x00b", "\x07", "\x1b[31m", "\x7f", "\x85"]


def assert_refused(response, where: str):
    assert response.status_code == 400, (where, response.status_code, response.text[:300])
    assert is_error_shape(response), (where, response.text[:300])
    assert response.json()["code"] == "invalid_characters", (where, response.json())


def test_the_probe_nul_in_a_stock_query_is_400_not_500(live_api):
    """Issue 13: GET /api/v1/stock/?sku=<NUL> answered 500 (PostgreSQL refuses NUL in text)."""
    response = live_api.get("/api/v1/stock/", params={"sku": "SKU\x00A"})
    assert_refused(response, "query")
    assert "sku" in response.json()["detail"]


@pytest.mark.parametrize("text", BAD_TEXT, ids=repr)
def test_control_characters_in_the_query_are_refused_on_every_operation(live_api, operations, text):
    for op in operations:
        assert_refused(live_api.request(op.method, op.path, params={"sku": text}, json={}), f"{op} query value")
        assert_refused(live_api.request(op.method, op.path, params={text: "1"}, json={}), f"{op} query name")


@pytest.mark.parametrize("encoded", ["%00", "%07", "%1B", "%7F", "%C2%85"])
def test_control_characters_in_the_path_are_refused_on_every_operation(live_api, operations, encoded):
    for op in operations:
        path = op.path.replace("SKU-A", f"SKU{encoded}A").replace(f"/{live_api.order.pk}/", f"/1{encoded}/")
        if path == op.path:
            path = op.path.rstrip("/") + encoded + "/"
        assert_refused(live_api.request(op.method, path, json={}), f"{op} path {path}")


@pytest.mark.parametrize("text", ["a\x00b", "\x01", "x\x1fy", "\x7f"], ids=repr)
def test_control_characters_in_headers_are_refused_on_every_operation(live_api, operations, text):
    for op in operations:
        for header in ("X-Probe", "Idempotency-Key", "User-Agent"):
            response = live_api.request(op.method, op.path, headers={header: text}, json={})
            assert_refused(response, f"{op} header {header}")
    response = live_api.get("/api/v1/orders/", headers={"Authorization": f"Bearer {live_api.key}\x00"})
    assert_refused(response, "Authorization header")


@pytest.mark.parametrize("text", [*BAD_TEXT, "\ud800", "x\udfffy"], ids=repr)
def test_control_characters_and_lone_surrogates_in_json_bodies_are_refused_on_every_operation(live_api, operations,
                                                                                               text):
    # Escaped, so the JSON is well-formed: {"name": "a\u0000b"}, and as a key: {"a\u0000b": 1}.
    escaped = _escape(text)
    bodies = [f'{{"name": "{escaped}", "reason": "x"}}', f'{{"{escaped}": 1}}',
              f'{{"orders": [{{"lines": [{{"sku": "{escaped}"}}]}}]}}']
    with_body = [op for op in operations if op.has_body]
    assert len(with_body) >= 4
    for op in with_body:
        for body in bodies:
            response = live_api.request(op.method, op.path, data=body.encode(),
                                        headers={"Content-Type": "application/json"})
            assert_refused(response, f"{op} body {body!r}")


def _escape(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or 0xd800 <= ord(c) <= 0xdfff
                   else c for c in text)


def test_the_field_is_named_in_the_detail(live_api):
    response = live_api.post("/api/v1/orders/", data=b'{"lines": [{"sku": "A", "name": "x\\u0000"}]}',
                             headers={"Content-Type": "application/json"})
    assert_refused(response, "body")
    assert response.json()["field"] == "lines[0].name"


def test_tabs_and_newlines_in_free_text_are_kept(live_api):
    response = live_api.post(f"/api/v1/orders/{live_api.order.pk}/transitions/hold/",
                             json={"reason": "call the customer:\n\tsecond line\r\n"})
    assert response.status_code == 200, response.text
    assert "\n\tsecond line" in live_api.order.status_changes.latest("id").reason


@pytest.fixture
def webhook_view_urls(settings):
    settings.ROOT_URLCONF = "tests.ordersync.urls_with_a_webhook_view"


@pytest.mark.parametrize(("body", "code"), [
    (b'{"title": "a\\u0000b"}', "invalid_characters"),
    (b'{"id": 1, "id": 2}', "malformed_json"),
    (b"[" * 5000 + b"]" * 5000, "malformed_json"),
])
def test_plain_django_views_on_webhook_paths_get_the_same_body_checks(live_server, webhook_view_urls, body, code):
    import requests

    url = f"{live_server.url}/webhooks/probe/"
    response = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400 and response.json()["code"] == code, response.text[:300]
    ok = requests.post(url, data=b'{"title": "caf\\u00e9\\n"}', headers={"Content-Type": "application/json"},
                       timeout=10, params={"topic": "orders/create"})
    assert ok.status_code == 200 and ok.json() == {"received": {"title": "café\n"}}
    assert "no-store" in ok.headers["Cache-Control"]
    assert requests.get(url, params={"topic": "a\x00"}, timeout=10).json()["code"] == "invalid_characters"


def test_a_raw_body_view_gets_its_bytes_unjudged_but_its_query_and_headers_still_guarded(live_server,
                                                                                        webhook_view_urls):
    import requests

    url = f"{live_server.url}/webhooks/signed/"
    broken = b'{"id": 1, "id": 2, "title": "a\\u0000b", "line_items": ['
    kept = requests.post(url, data=broken, headers={"Content-Type": "application/json"}, timeout=10)
    assert kept.status_code == 200 and kept.json() == {"bytes": len(broken)}
    refused = requests.post(url, data=broken, params={"topic": "a\x00"}, timeout=10)
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_characters"
