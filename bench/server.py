"""How benchmarks start what they measure: processes get the production-like settings (bench/settings.py) and
the web server is gunicorn with production's config (ordersync/gunicorn_conf.py: gthread workers)."""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn as production runs it; WEB_CONCURRENCY defaults to 2 x cores + 1 processes for the benchmark."""

    def __init__(self, settings: str = SETTINGS, env: dict | None = None):
        self.port = free_port()
        self.env = {"WEB_CONCURRENCY": str(2 * (os.cpu_count() or 2) + 1), **os.environ, **production_env(settings),
                    **(env or {})}
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "ordersync.wsgi:application",
             "-c", "python:ordersync.gunicorn_conf", "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"],
            cwd=ROOT, env=self.env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)
