"""Real Celery worker processes for tests (never eager mode).

`celery_workers` starts `celery -A ordersync worker` subprocesses against the real broker from settings and the
pytest-django TEST database, so tests using it must be `@pytest.mark.django_db(transaction=True)` (the worker
only sees committed rows) and `@pytest.mark.needs_broker`:

    worker = celery_workers.start()                       # all queues, solo pool
    worker = celery_workers.start(env={"SYNC_LEASE_MARGIN_SECONDS": "1"})
    worker = celery_workers.start(include=["tests.sync.worker_handlers"])  # also imports that module
    worker.kill()                                         # SIGKILL the whole process group, like an OOM kill
    worker.restart()
    celery_workers.start_beat()                           # a real `celery beat` for periodic tasks

`wait_until(predicate, timeout=..., message=...)` polls with a deadline instead of sleeping.
`RedisServer` runs a private redis-server (its own port) that a test may restart without touching the shared one;
`use_broker(url)` points this process's producer at it.
The broker's database is flushed when the fixture starts so stale messages never leak between runs.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import close_old_connections, connection

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_QUEUES = ("default", "payment", "stock", "logistics", "notification", "channel")


def all_queues() -> list[str]:
    return list(getattr(settings, "ORDERSYNC_QUEUES", DEFAULT_QUEUES))


def wait_until(predicate: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.05,
               message: str = "condition") -> object:
    """Polls `predicate` until it returns something truthy; fails with `message` when the deadline passes.

    Each poll closes stale DB connections first so a query sees rows other processes committed since.
    """
    deadline = time.monotonic() + timeout
    while True:
        close_old_connections()
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def test_database_url() -> str:
    """The URL of the database pytest-django created for this run (test_<name>), for subprocesses."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def purge_broker(url: str, queues: list[str]) -> None:
    """Empties the test broker: a dedicated Redis database is flushed (queues, unacked and scheduled sets); on
    RabbitMQ (a vhost of the test's own, see tests/harness/rabbitmq.py) the named queues are purged."""
    if urlsplit(url).scheme in ("redis", "rediss"):
        import redis

        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()
        return
    from kombu import Connection

    with Connection(url) as conn:
        channel = conn.channel()
        for queue in queues:
            with contextlib.suppress(Exception):
                channel.queue_purge(queue)


class CeleryProcess:
    def __init__(self, args: list[str], env: dict, log_path: Path, ready_marker: str | None):
        self.args, self.env, self.log_path, self.ready_marker = args, env, log_path, ready_marker
        self.proc: subprocess.Popen | None = None
        self.kills = 0

    def start(self, *, wait: bool = True) -> "CeleryProcess":
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        self._log_offset = self.log_path.stat().st_size
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        if wait and self.ready_marker:
            self.wait_ready()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as fh:
                fh.seek(self._log_offset)
                if self.ready_marker.encode() in fh.read():
                    return
            if self.proc.poll() is not None:
                raise AssertionError(f"celery exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            time.sleep(0.05)
        raise AssertionError(f"celery not ready after {timeout}s:\n{self.log()[-4000:]}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the process group: the worker and its pool children die without any cleanup."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.kills += 1

    def stop(self, timeout: float = 10.0) -> None:
        """Warm shutdown (SIGTERM), escalating to SIGKILL if it does not finish in time."""
        if not self.running:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self, *, wait: bool = True) -> "CeleryProcess":
        self.kill()
        return self.start(wait=wait)


class CeleryWorkers:
    def __init__(self, tmp_path: Path, broker_url: str):
        self.tmp_path = tmp_path
        self.broker_url = broker_url
        self.processes: list[CeleryProcess] = []

    def _env(self, extra: dict | None, broker_url: str | None) -> dict:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="ordersync.settings.test",
            DATABASE_URL=test_database_url(),
            CELERY_BROKER_URL=broker_url or self.broker_url,
            ORDERSYNC_RUN_DIR=str(self.tmp_path),
            PYTHONUNBUFFERED="1",
        )
        env.update({k: str(v) for k, v in (extra or {}).items()})
        return env

    def start(self, *, queues: list[str] | None = None, pool: str = "solo", concurrency: int = 1,
              env: dict | None = None, broker_url: str | None = None, wait: bool = True,
              include: list[str] | None = None) -> CeleryProcess:
        """`include`: extra modules the worker imports (e.g. one registering test handlers)."""
        index = len(self.processes)
        args = [
            sys.executable, "-m", "celery", "-A", "ordersync", "worker",
            "-Q", ",".join(queues or all_queues()), "--pool", pool, "--concurrency", str(concurrency),
            "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"test{index}-{os.getpid()}@%h",
        ]
        if include:
            args += ["--include", ",".join(include)]
        process = CeleryProcess(args, self._env(env, broker_url), self.tmp_path / f"worker{index}.log",
                                ready_marker=" ready.")
        self.processes.append(process)
        return process.start(wait=wait)

    def start_beat(self, *, env: dict | None = None, broker_url: str | None = None) -> CeleryProcess:
        index = len(self.processes)
        args = [
            sys.executable, "-m", "celery", "-A", "ordersync", "beat", "--loglevel", "INFO",
            "-s", str(self.tmp_path / f"beat{index}-schedule"),
        ]
        process = CeleryProcess(args, self._env(env, broker_url), self.tmp_path / f"beat{index}.log",
                                ready_marker="beat: Starting")
        self.processes.append(process)
        return process.start()

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop(timeout=5)


@pytest.fixture
def celery_workers(transactional_db, tmp_path):
    """Factory for real worker/beat subprocesses; all of them are stopped when the test ends."""
    purge_broker(settings.CELERY_BROKER_URL, all_queues())
    workers = CeleryWorkers(tmp_path, settings.CELERY_BROKER_URL)
    yield workers
    workers.stop_all()
    purge_broker(settings.CELERY_BROKER_URL, all_queues())


@pytest.fixture
def celery_worker(celery_workers):
    """One running worker on every queue (solo pool)."""
    return celery_workers.start()


class RedisServer:
    """A private redis-server on its own port that a test may stop and restart (the shared one is off limits)."""

    def __init__(self, tmp_path: Path):
        from tests.harness.http_server import free_port

        self.port = free_port()
        self.tmp_path = tmp_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            raise AssertionError("redis-server is not installed; the broker-restart test needs it")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        wait_until(lambda: self._pings(client), timeout=10, message=f"redis-server on port {self.port}")
        client.close()
        return self

    @staticmethod
    def _pings(client) -> bool:
        try:
            return bool(client.ping())
        except Exception:  # not up yet
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@contextlib.contextmanager
def use_broker(url: str):
    """Points this process's Celery producer (delay_on_commit, sweeper) at another broker for the block, with that
    broker's queue declarations and transport options (ordersync.brokers), as a worker started on it has."""
    from ordersync.brokers import app_config, celery_broker_settings
    from ordersync.celery import app

    def reset_pools():
        # kombu keeps process-wide pools keyed by connection; reset them all, not just the app's reference.
        # app.amqp caches the queue declarations and router derived from the configuration.
        from kombu import pools

        pools.reset()
        app._pool = None
        app.__dict__.pop("amqp", None)

    broker_conf = app_config(celery_broker_settings(
        url, queues=all_queues(), run_dir=Path(settings.RUN_DIR), visibility_timeout=settings.CELERY_VISIBILITY_TIMEOUT,
        queue_type=settings.CELERY_QUEUE_TYPE,
    ))
    # broker_url would lose to the CELERY_BROKER_URL environment variable; the write URL is what producers use.
    overrides = {"broker_write_url": url, "task_queues": None, **broker_conf}
    previous = {key: app.conf.get(key) for key in overrides}
    app.conf.update(overrides)
    reset_pools()
    try:
        yield
    finally:
        app.conf.update(previous)
        reset_pools()
