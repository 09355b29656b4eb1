"""The web tier as production runs it (gunicorn, gthread workers) and the clients that load it during a fault.

`WebServer` starts gunicorn (tests/harness/gunicorn.py) against the test database (or a proxy in front of it) and
the broker a test gives it, logging to a file a test may grep. `Shop` is one channel's integrator: it places orders
over REST and walks them through their lifecycle from several threads at once, remembering every answer it got.
"""

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.harness.gunicorn import Gunicorn

LIFECYCLE = ("pay", "start_fulfilment", "ship", "deliver")


class WebServer(Gunicorn):
    def __init__(self, tmp_path: Path, *, database_url: str, broker_url: str, env: dict | None = None,
                 processes: int = 2, threads: int = 4):
        super().__init__(log_dir=tmp_path, env={
            **os.environ, "DJANGO_SETTINGS_MODULE": "ordersync.settings.test", "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url, "WEB_CONCURRENCY": str(processes), "WEB_THREADS": str(threads),
            "PYTHONUNBUFFERED": "1", **(env or {}),
        })


class Shop:
    """One API key's client: every answer is kept in `answers` (status counts) for the test to judge."""

    def __init__(self, base_url: str, key: str, *, currency: str = "EUR"):
        self.base_url, self.key, self.currency = base_url, key, currency
        self.answers: Counter = Counter()
        self.errors: list[str] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.headers["Authorization"] = f"Bearer {self.key}"
        return self._local.session

    def post(self, path: str, body: dict, *, retry_until: float = 0.0) -> requests.Response:
        """`retry_until`: keep retrying 5xx and connection errors until this monotonic time, as integrators do."""
        while True:
            try:
                response = self._session().post(self.base_url + path, json=body, timeout=30)
            except requests.RequestException as exc:
                self._count(f"error:{type(exc).__name__}")
                if time.monotonic() < retry_until:
                    time.sleep(0.5)
                    continue
                raise
            self._count(response.status_code)
            if response.status_code >= 500 and time.monotonic() < retry_until:
                time.sleep(0.5)
                continue
            return response

    def _count(self, key) -> None:
        with self._lock:
            self.answers[key] += 1

    def place(self, body: dict, **kwargs) -> dict:
        response = self.post("/api/v1/orders/", body, **kwargs)
        assert response.status_code in (200, 201), (response.status_code, response.text[:300])
        return response.json()

    def walk(self, order: dict, steps=LIFECYCLE, **kwargs) -> None:
        for name in steps:
            payload = {"pay": {"amount": order["total"], "currency": order["currency"]},
                       "ship": {"tracking_number": f"T-{order['id']}"}}.get(name, {"reason": "resilience"})
            response = self.post(f"/api/v1/orders/{order['id']}/transitions/{name}/", payload, **kwargs)
            assert response.status_code == 200, (name, response.status_code, response.text[:300])

    def run_orders(self, bodies: list[dict], *, threads: int = 4, plan=None, **kwargs) -> list[dict]:
        """Places each body and walks it through `plan(index)` steps (default: the whole lifecycle)."""

        def one(item):
            index, body = item
            order = self.place(body, **kwargs)
            self.walk(order, plan(index) if plan else LIFECYCLE, **kwargs)
            return order

        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(one, enumerate(bodies)))
