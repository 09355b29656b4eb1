"""gunicorn settings of every web process — `make run` (Procfile), production and the benchmarks:

    gunicorn ordersync.wsgi -c python:ordersync.gunicorn_conf --bind 0.0.0.0:8000

Threads (gthread): a slow request such as a large bulk occupies one thread, not the whole process, so /healthz
and /readyz keep answering. Each thread keeps its own database connection (DATABASE_CONN_MAX_AGE), so a web
process holds up to WEB_THREADS connections; docs/OPERATIONS.md sizes PostgreSQL's max_connections from this.
"""

import os
import tempfile
from pathlib import Path

from django.conf import settings

from ordersync.config import env, fail


def _positive(name: str, default: int) -> int:
    try:
        value = env.int(name, default=default)
    except ValueError:
        value = 0
    if value < 1:
        fail(f"{name}={env.str(name)!r} is not a positive whole number; e.g. {name}={default}")
    return value


worker_class = "gthread"
workers = _positive("WEB_CONCURRENCY", 2)
threads = _positive("WEB_THREADS", 4)
# Longer than the slowest bounded request (a full bulk, see docs/OPERATIONS.md) so it is never cut off.
timeout = _positive("WEB_TIMEOUT", 60)
graceful_timeout = 10

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ordersync.settings.dev")  # as ordersync/wsgi.py

# gunicorn's own lines (start-up, worker restarts, timeouts) in the application's format. The settings module decides
# it (LOG_FORMAT, defaulting per module); reading it here means its default is stated once.
if settings.LOG_FORMAT == "json":
    logconfig_dict = {
        **settings.LOGGING,
        "loggers": {name: {"handlers": ["console"], "level": "INFO", "propagate": False}
                    for name in ("gunicorn.error", "gunicorn.access")},
    }

# Request-latency metrics of all worker processes, merged at scrape time (prometheus-client multiprocess mode).
# Set before any worker imports prometheus_client; emptied at start so a previous run's files do not count.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="ordersync-metrics-"))


def on_starting(server):
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
