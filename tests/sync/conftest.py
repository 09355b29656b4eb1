import threading
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection

from sync.services import deliveries_sweep
from tests.harness.celery_worker import RedisServer, use_broker
from tests.harness.rabbitmq import RabbitVhost, restart_rabbitmq

# Worker processes: short leases so a killed worker's delivery is recovered within seconds.
WORKER_ENV = {
    "SYNC_LEASE_MARGIN_SECONDS": "0.5", "SYNC_NUDGE_TTL_SECONDS": "2", "SYNC_BREAKER_THRESHOLD": "1000",
    "DATABASE_POOL": "true",
}


class Sweeper:
    """Runs the beat sweeper's task body from a thread, as beat would call it, every `interval` seconds."""

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.errors: list[BaseException] = []
        self.sweeps = 0
        self._swept = threading.Condition()

    def _run(self):
        try:
            while not self._stop.wait(self.interval):
                try:
                    deliveries_sweep()
                except Exception as exc:  # a failing sweep must fail the test, not die silently
                    self.errors.append(exc)
                with self._swept:
                    self.sweeps += 1
                    self._swept.notify_all()
        finally:
            connection.close()

    def start(self):
        self._thread.start()
        return self

    def wait_sweeps(self, count: int, timeout: float = 10.0) -> None:
        """Blocks until `count` more sweeps have run (a sweep is the event being waited for, not a time)."""
        with self._swept:
            target = self.sweeps + count
            assert self._swept.wait_for(lambda: self.sweeps >= target, timeout), "sweeper stalled"

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        assert not self.errors, self.errors


@pytest.fixture
def sync_settings(settings):
    settings.SYNC_NUDGE_TTL = 2
    settings.SYNC_LEASE_MARGIN = 0.5
    settings.SYNC_BREAKER_THRESHOLD = 1000
    return settings


@pytest.fixture
def sweeper(sync_settings, broker):
    sweeper = Sweeper(interval=0.25).start()
    yield sweeper
    sweeper.stop()


BROKERS = ["redis", "rabbitmq"]


@dataclass
class Broker:
    kind: str
    url: str
    restart: object  # () -> None: drops every connection; what the broker kept on disk comes back

    def reconnects_logged(self, log: str) -> int:
        return log.count(f"Connected to {'amqp' if self.kind == 'rabbitmq' else 'redis'}://")


@pytest.fixture
def broker(request, celery_workers, tmp_path):
    """The broker a delivery test runs on. Unparametrised: the shared one from settings. With
    `@pytest.mark.parametrize("broker", BROKERS, indirect=True)`: a private redis-server, or a RabbitMQ vhost of
    the test's own (restarted with stop_app/start_app). Workers started later and this process's producer both use
    it."""
    kind = getattr(request, "param", None)
    if kind is None:
        yield Broker("redis", settings.CELERY_BROKER_URL, restart=None)
        return
    if kind == "redis":
        server = RedisServer(tmp_path).start()
        selected, cleanup = Broker(kind, server.url, restart=server.restart), server.stop
    else:
        vhost = RabbitVhost.create()
        selected = Broker(kind, vhost.url, restart=lambda: restart_rabbitmq(vhost.url))
        cleanup = vhost.delete
    celery_workers.broker_url = selected.url
    try:
        with use_broker(selected.url):
            yield selected
            celery_workers.stop_all()
    finally:
        cleanup()


@pytest.fixture
def sync_worker(celery_workers, broker):
    return celery_workers.start(env=WORKER_ENV)
