"""Benchmarks measure what production runs: the bench servers' settings are production's (DEBUG off, the same
middleware, no whitenoise autorefresh, connection reuse), and the bench gunicorn uses production's gunicorn config."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.harness.celery_worker import test_database_url as url_of_the_test_database
from tests.ordersync.servers import ROOT

SHOW = ("import json; from django.conf import settings as s; d = s.DATABASES['default']; print(json.dumps({"
        "'DEBUG': s.DEBUG, 'MIDDLEWARE': s.MIDDLEWARE, 'AUTOREFRESH': getattr(s, 'WHITENOISE_AUTOREFRESH', False), "
        "'FINDERS': getattr(s, 'WHITENOISE_USE_FINDERS', False), 'STORAGES': s.STORAGES, "
        "'CONN_MAX_AGE': d['CONN_MAX_AGE'], 'CONN_HEALTH_CHECKS': d['CONN_HEALTH_CHECKS'], "
        "'SSL_REDIRECT': s.SECURE_SSL_REDIRECT}))")


def settings_of(module: str, env: dict | None = None) -> dict:
    full_env = {"DJANGO_SETTINGS_MODULE": module, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ordersync_bench",
                "PATH": "", **(env or {})}
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {SHOW}"], cwd=ROOT,
                            env=full_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("module", ["bench.settings", "bench.settings_orders"])
def test_bench_servers_run_production_settings(module):
    production = settings_of("ordersync.settings.production", {"SECRET_KEY": "p" * 60})
    bench = settings_of(module)  # no SECRET_KEY given: the bench settings make one

    assert bench["DEBUG"] is False
    assert bench["AUTOREFRESH"] is False and bench["FINDERS"] is False
    assert bench["MIDDLEWARE"] == production["MIDDLEWARE"]
    assert bench["STORAGES"] == production["STORAGES"]
    assert bench["CONN_MAX_AGE"] == production["CONN_MAX_AGE"] > 0
    assert bench["CONN_HEALTH_CHECKS"] is True
    assert bench["SSL_REDIRECT"] is False  # the one loopback concession: plain HTTP to 127.0.0.1


def test_the_bench_web_server_is_production_gunicorn_serving_production_behaviour(transactional_db):
    from bench.server import Gunicorn

    server = Gunicorn("bench.settings_orders", env={"WEB_CONCURRENCY": "1", "DATABASE_URL": url_of_the_test_database()})
    try:
        environ = dict(item.split("=", 1) for item in
                       Path(f"/proc/{server.proc.pid}/environ").read_text().split("\0") if "=" in item)
        command = Path(f"/proc/{server.proc.pid}/cmdline").read_text().split("\0")
        missing = requests.get(f"http://127.0.0.1:{server.port}/no-such-page", timeout=30)
        probe = requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=30, allow_redirects=False)
    finally:
        server.stop()

    assert environ["DJANGO_SETTINGS_MODULE"] == "bench.settings_orders"
    assert command[command.index("-c") + 1] == "python:ordersync.gunicorn_conf"  # gthread, as production
    assert missing.status_code == 404 and "URLconf" not in missing.text  # DEBUG off: no technical 404 page
    assert probe.status_code == 200 and "Content-Security-Policy" in probe.headers  # production middleware
