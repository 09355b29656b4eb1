import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.harness.celery_worker import test_database_url, wait_until
from tests.harness.http_server import free_port
from tests.harness.processes import stop_process_group

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "scrape-token-for-tests"


class WebServer:
    """gunicorn as production runs it (ordersync/gunicorn_conf.py: several processes, threads), on the test
    database; its output is kept in a file for log assertions."""

    def __init__(self, tmp_path: Path, env: dict):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "web.log"
        self.env = {**os.environ, "DATABASE_URL": test_database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                    "ORDERSYNC_RUN_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1",
                    "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), **env}
        self.proc = None

    def start(self) -> "WebServer":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "ordersync.wsgi", "-c", "python:ordersync.gunicorn_conf",
                 "--bind", f"127.0.0.1:{self.port}"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_until(self._up, timeout=60, message=f"gunicorn on {self.base}; log:\n{self.log()[-3000:]}")
        return self

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{self.log()[-3000:]}")
        try:
            return requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process_group(self.proc)


@pytest.fixture
def make_web_server(transactional_db, tmp_path):
    servers = []

    def make(**env) -> WebServer:
        server = WebServer(tmp_path, {"DJANGO_SETTINGS_MODULE": "ordersync.settings.test",
                                      "METRICS_TOKEN": METRICS_TOKEN, "WEB_CONCURRENCY": "2", **env})
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
