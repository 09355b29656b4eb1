import threading

import pytest
from django.db import connection

from sync.services import deliveries_sweep

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
def sweeper(sync_settings):
    sweeper = Sweeper(interval=0.25).start()
    yield sweeper
    sweeper.stop()


@pytest.fixture
def sync_worker(celery_workers):
    return celery_workers.start(env=WORKER_ENV)
