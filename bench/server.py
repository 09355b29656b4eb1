"""How benchmarks start what they measure: processes get the production-like settings (bench/settings.py) and
the web server is gunicorn with production's config (ordersync/gunicorn_conf.py: gthread workers)."""

import os
import secrets
from pathlib import Path

from tests.harness import gunicorn as harness

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "bench.settings"


def ensure_secret_key() -> str:
    """Production refuses to start without a real key; a benchmark protects nothing with it, so any random one
    will do. Set once per run in os.environ so that every process the run starts shares it."""
    return os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


def production_env(settings: str = SETTINGS) -> dict:
    """Environment overrides for any process a benchmark starts (gunicorn, Celery workers): pass them on top of
    os.environ, e.g. `CeleryWorkers(...).start(env={**production_env(), ...})`."""
    return {"DJANGO_SETTINGS_MODULE": settings, "SECRET_KEY": ensure_secret_key(), "PYTHONPATH": str(ROOT)}


class Gunicorn(harness.Gunicorn):
    """gunicorn as production runs it, started and ready; WEB_CONCURRENCY defaults to 2 x cores + 1 processes for
    the benchmark. Its output goes to the benchmark's own."""

    def __init__(self, settings: str = SETTINGS, env: dict | None = None):
        super().__init__(env={"WEB_CONCURRENCY": str(2 * (os.cpu_count() or 2) + 1), **os.environ,
                              **production_env(settings), **(env or {})},
                         log_level="warning", ready_timeout=30)
        self.start()
