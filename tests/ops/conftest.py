import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.harness.celery_worker import test_database_url
from tests.harness.gunicorn import Gunicorn

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "scrape-token-for-tests"


def web_server_env(tmp_path: Path, env: dict) -> dict:
    """Production's gunicorn on the test database, with its own run and metrics folders."""
    return {**os.environ, "DATABASE_URL": test_database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "ORDERSYNC_RUN_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), **env}


@pytest.fixture
def make_web_server(transactional_db, tmp_path):
    servers = []

    def make(**env) -> Gunicorn:
        server = Gunicorn(log_dir=tmp_path, env=web_server_env(tmp_path, {
            "DJANGO_SETTINGS_MODULE": "ordersync.settings.test", "METRICS_TOKEN": METRICS_TOKEN,
            "WEB_CONCURRENCY": "2", **env}))
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
