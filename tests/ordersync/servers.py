"""The web tier as it really runs, for tests of HTTP behaviour: the Procfile's `web:` command (what `make run`
starts; production uses the same gunicorn config) or Django's development server, in its own process group,
against pytest's test database (so tests using it need `transactional_db`).

    server = web_server(settings="ordersync.settings.production")   # gunicorn from the Procfile
    server = web_server(command=RUNSERVER)                          # manage.py runserver
    requests.get(server.url("/healthz"))

Each server's PostgreSQL connections carry a unique `application_name` (`server.app_name`), so a test can find
exactly that server's backends in pg_stat_activity.
"""

import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.harness.celery_worker import test_database_url
from tests.harness.http_server import free_port
from tests.harness.processes import stop_process_group

ROOT = Path(__file__).resolve().parents[2]
RUNSERVER = f"{sys.executable} manage.py runserver --noreload 127.0.0.1:$PORT"


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"Procfile has no {name}: line")


def backends(app_name: str) -> list[tuple[int, object]]:
    """(pid, backend_start) of every PostgreSQL connection a process opened under `app_name`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = %s ORDER BY pid",
                       [app_name])
        return cursor.fetchall()


class WebServer:
    def __init__(self, log_path: Path, *, command: str, settings_module: str, env: dict | None):
        self.port = free_port()
        self.app_name = f"web-{uuid.uuid4().hex[:12]}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ORDERSYNC_RUN_DIR": str(log_path.parent),
            "PGAPPNAME": self.app_name,
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(["/bin/sh", "-c", f"exec {command}"], cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_listening()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_listening(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"web server exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                requests.get(self.url("/healthz"), timeout=2, allow_redirects=False)
                return
            except requests.RequestException:  # not listening yet
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"web server not listening after {timeout}s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        stop_process_group(self.proc)


@pytest.fixture
def web_server(transactional_db, tmp_path):
    """Factory: web_server(settings=..., command=..., env=...) starts one; all are stopped when the test ends."""
    started: list[WebServer] = []

    def start(*, settings: str = "ordersync.settings.dev", command: str | None = None, env: dict | None = None):
        server = WebServer(tmp_path / f"web{len(started)}.log", command=command or procfile_command("web"),
                           settings_module=settings, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
