"""Every channel-facing operation is rate limited per API key: 429 `throttled` with Retry-After; other keys go on."""

import pytest
from django.core.cache import cache

from tests.harness.live_api import is_error_shape

RATE = 3


@pytest.fixture(autouse=True)
def low_rate(settings):
    cache.clear()  # the throttle's counters live in the default cache, shared with the live server thread
    settings.API_THROTTLE_RATE = f"{RATE}/min"
    yield
    cache.clear()


def test_every_operation_is_throttled_per_api_key(live_api, operations, make_live_api):
    assert {op.template for op in operations} >= {"/api/v1/orders/", "/api/v1/stock/", "/api/v1/warehouses/",
                                                  "/api/v1/stock/{sku}/", "/api/v1/skus/{code}/"}
    for op in operations:
        api = make_live_api(channel=live_api.channel)
        # Whatever each request answers (200, 400, 404, 409), it counts against the key.
        before = [api.request(op.method, op.path, json={}).status_code for _ in range(RATE)]
        assert 429 not in before, (str(op), before)
        over = api.request(op.method, op.path, json={})
        assert over.status_code == 429, (str(op), over.status_code, over.text[:200])
        assert is_error_shape(over) and over.json()["code"] == "throttled"
        assert int(over.headers["Retry-After"]) > 0
        fresh = make_live_api(channel=live_api.channel)
        assert fresh.request(op.method, op.path, json={}).status_code != 429, str(op)
