import sys

import pytest
from django.conf import settings

from channels_integration.scopes import LOGISTICS, ORDERS_READ, ORDERS_WRITE, PAYMENTS
from tests.factories import ApiKeyFactory, ChannelFactory
from tests.harness import celery_worker as harness
from tests.orders.factories import order_body, stock_skus
from tests.resilience.invariants import settled_now
from tests.resilience.proxy import TcpProxy
from tests.resilience.web import Shop, WebServer
from tests.sync.factories import make_endpoint

# Worker processes: leases lost to a kill come back within ~2 s, retries come fast, the breaker stays out of it.
WORKER_ENV = {
    "SYNC_LEASE_MARGIN_SECONDS": "0.5", "SYNC_NUDGE_TTL_SECONDS": "2", "SYNC_BREAKER_THRESHOLD": "1000",
    "SYNC_MIN_BACKOFF_THROTTLED_SECONDS": "1", "SYNC_SWEEP_INTERVAL_SECONDS": "1",
    "CHANNELS_INBOUND_REQUEUE_SECONDS": "2",
}
FAST = {"connect_timeout": 0.5, "read_timeout": 1.0, "retry_schedule": [0, 0.5, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3]}


@pytest.fixture
def web_servers(transactional_db, tmp_path):
    """Factory for gunicorn processes against the test database (or `database_url`, e.g. a proxy)."""
    started = []

    def start(*, database_url: str | None = None, broker_url: str | None = None, **options) -> WebServer:
        server = WebServer(tmp_path, database_url=database_url or harness.test_database_url(),
                           broker_url=broker_url or settings.CELERY_BROKER_URL, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def proxies():
    started = []

    def start(upstream: tuple[str, int]) -> TcpProxy:
        proxy = TcpProxy(upstream).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture
def stocked(transactional_db):
    stock_skus("SKU-A", "SKU-B", quantity=10_000)


def make_shop(base_url: str, *, channel=None) -> Shop:
    channel = channel or ChannelFactory(currency="EUR")
    issued = ApiKeyFactory.issue(channel=channel, scopes=[ORDERS_READ, ORDERS_WRITE, PAYMENTS, LOGISTICS])
    shop = Shop(base_url, issued.secret)
    shop.channel = channel
    return shop


def bodies(count: int, prefix: str) -> list[dict]:
    return [order_body(external_id=f"{prefix}-{i}") for i in range(count)]


def subscribe(server, *paths: str, **options) -> list:
    """One URL endpoint per path on the recording server, each receiving every order event."""
    return [make_endpoint(url=server.url(path), kind=kind, **{**FAST, **options})[0]
            for path, kind in zip(paths, ("payment", "stock", "logistics", "notification"), strict=False)]


def settled() -> bool:
    return settled_now()


def start_worker_host(workers, hostname: str, *, env: dict | None = None, concurrency: int = 2):
    """A prefork worker on every queue named `worker@<hostname>`, as each of several worker hosts runs it (the
    harness names its workers after this machine); stopped with the others when the test ends."""
    args = [sys.executable, "-m", "celery", "-A", "ordersync", "worker", "-Q", ",".join(harness.all_queues()),
            "--pool", "prefork", "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "-n", f"worker@{hostname}"]
    process = harness.CeleryProcess(args, workers._env(env, None), workers.tmp_path / f"worker-{hostname}.log",
                                    ready_marker=" ready.")
    workers.processes.append(process)
    return process.start()
