"""A local HTTP server speaking the parts of Shopify's and WooCommerce's REST APIs that OrderSync calls.

Shopify: GET orders/count.json and orders.json (updated_at_min/max, `Link` rel="next" page_info cursors that refuse
repeated filters, as Shopify does), POST inventory_levels/set.json, the X-Shopify-Access-Token check and the
X-Shopify-Shop-Api-Call-Limit bucket header. WooCommerce: GET orders (modified_after/before, page/per_page,
X-WP-Total/X-WP-TotalPages) and PUT products/{id}[/variations/{id}] with basic auth. `throttle(n)` answers the
next n requests 429 with Retry-After, like both channels' rate limiters.
"""

import base64
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SHOPIFY_PREFIX = "/admin/api/"
WOO_PREFIX = "/wp-json/wc/v3/"


def _moment(value: str) -> datetime:
    """WooCommerce's *_gmt fields have no offset: they are UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class FakeChannel:
    def __init__(self, kind: str, *, token: str, page_size: int = 2):
        self.kind, self.token, self.page_size = kind, token, page_size
        self.orders: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.stock_sets: list[dict] = []  # what inventory calls received, in order
        self._throttle = 0
        self.retry_after = "0.2"
        self.bucket_used = 0.0  # Shopify's leaky bucket: +1 per call, drains 2 per second
        self._bucket_at = time.monotonic()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._serve(self)

            do_POST = do_PUT = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def throttle(self, count: int, retry_after: str = "0.2") -> None:
        with self._lock:
            self._throttle, self.retry_after = count, retry_after

    # Serving -------------------------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((handler.command, handler.path))
            throttled = self._throttle > 0
            self._throttle -= throttled
        if not self._authorised(handler):
            return self._answer(handler, 401, {"errors": "[API] Invalid API key or access token"})
        if throttled:
            return self._answer(handler, 429, {"errors": "Exceeded 2 calls per second for api client."},
                                {"Retry-After": self.retry_after})
        route = self._shopify if self.kind == "shopify" else self._woocommerce
        status, payload, headers = route(handler.command, parts.path, query, body)
        self._answer(handler, status, payload, headers)

    def _authorised(self, handler) -> bool:
        if self.kind == "shopify":
            return handler.headers.get("X-Shopify-Access-Token") == self.token
        expected = "Basic " + base64.b64encode(self.token.encode()).decode()
        return handler.headers.get("Authorization") == expected

    @staticmethod
    def _answer(handler, status: int, payload, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _window(self, stamp: str, since: str | None, until: str | None) -> list[dict]:
        rows = [o for o in self.orders if (since is None or _moment(o[stamp]) >= _moment(since))
                and (until is None or _moment(o[stamp]) <= _moment(until))]
        return sorted(rows, key=lambda o: (_moment(o[stamp]), o["id"]))

    def _shopify(self, method, path, query, body):
        version_and_rest = path[len(SHOPIFY_PREFIX):]
        resource = version_and_rest.split("/", 1)[1] if "/" in version_and_rest else ""
        with self._lock:
            now = time.monotonic()
            self.bucket_used = min(max(self.bucket_used - 2 * (now - self._bucket_at), 0) + 1, 40)
            self._bucket_at = now
            bucket = {"X-Shopify-Shop-Api-Call-Limit": f"{int(self.bucket_used)}/40"}
        if method == "GET" and resource == "orders/count.json":
            rows = self._window("updated_at", query.get("updated_at_min"), query.get("updated_at_max"))
            return 200, {"count": len(rows)}, bucket
        if method == "GET" and resource == "orders.json":
            if "page_info" in query:
                if set(query) - {"page_info", "limit"}:
                    return 400, {"errors": {"page_info": ["page_info cannot be combined with other filters"]}}, {}
                window = json.loads(base64.urlsafe_b64decode(query["page_info"]))
            else:
                window = {"min": query.get("updated_at_min"), "max": query.get("updated_at_max"), "offset": 0}
            rows = self._window("updated_at", window["min"], window["max"])
            size = min(int(query.get("limit", 50)), self.page_size)
            page = rows[window["offset"]:window["offset"] + size]
            headers = dict(bucket)
            if window["offset"] + size < len(rows):
                cursor = base64.urlsafe_b64encode(json.dumps({**window, "offset": window["offset"] + size})
                                                  .encode()).decode()
                headers["Link"] = f'<{self.url}{path}?limit={size}&page_info={cursor}>; rel="next"'
            return 200, {"orders": page}, headers
        if method == "POST" and resource == "inventory_levels/set.json":
            data = json.loads(body)
            with self._lock:
                self.stock_sets.append(data)
            return 200, {"inventory_level": {**data, "updated_at": "2026-11-20T10:00:00-05:00"}}, bucket
        return 404, {"errors": "Not Found"}, {}

    def _woocommerce(self, method, path, query, body):
        resource = path[len(WOO_PREFIX):]
        if method == "GET" and resource == "orders":
            rows = self._window("date_modified_gmt", query.get("modified_after"), query.get("modified_before"))
            size = min(int(query.get("per_page", 10)), self.page_size)
            page = int(query.get("page", 1))
            pages = max((len(rows) + size - 1) // size, 1)
            return 200, rows[(page - 1) * size:page * size], {"X-WP-Total": str(len(rows)),
                                                               "X-WP-TotalPages": str(pages)}
        if method == "PUT" and resource.startswith("products/"):
            data = json.loads(body)
            ids = resource.split("/")
            with self._lock:
                self.stock_sets.append({"product_id": int(ids[1]),
                                        "variation_id": int(ids[3]) if len(ids) > 3 else None, **data})
            return 200, {"id": int(ids[-1]), "stock_quantity": data.get("stock_quantity")}, {}
        return 404, {"code": "rest_no_route", "message": "No route was found matching the URL and request method."}, {}

    def wait_for_stock(self, predicate, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                seen = list(self.stock_sets)
            if predicate(seen):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"stock pushes never matched; got {self.stock_sets[-5:]}")
