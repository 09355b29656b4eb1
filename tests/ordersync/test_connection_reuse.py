"""PostgreSQL connections are reused by default: consecutive requests of a live gunicorn (the Procfile's, with
production settings) and consecutive tasks of one worker process run on the same backend, and a backend the
server killed is replaced by the health check instead of failing the next request or task."""

import json
import subprocess
import sys

import pytest
import requests
from django.db import connection

from tests.harness.celery_worker import wait_until
from tests.ordersync.servers import ROOT, backends

SETTINGS_MODULES = ["ordersync.settings.dev", "ordersync.settings.test", "ordersync.settings.production",
                    "bench.settings", "bench.settings_orders"]


def terminate(pids) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.parametrize("module", SETTINGS_MODULES)
def test_every_settings_module_reuses_postgresql_connections_with_health_checks(module):
    script = ("import json; from django.conf import settings; d = settings.DATABASES['default']; "
              "print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], d.get('OPTIONS', {}).get('pool')]))")
    env = {"DJANGO_SETTINGS_MODULE": module, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ordersync",
           "SECRET_KEY": "x" * 60, "PATH": ""}
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {script}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    max_age, health_checks, pool = json.loads(result.stdout)
    assert max_age >= 60 and health_checks is True and pool is None


def test_the_pool_is_the_alternative_and_checks_connections_too():
    script = ("import json; from django.conf import settings; d = settings.DATABASES['default']; "
              "print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], d['OPTIONS']['pool']]))")
    env = {"DJANGO_SETTINGS_MODULE": "ordersync.settings.test", "DATABASE_POOL": "true", "DATABASE_POOL_MAX": "8",
           "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ordersync", "PATH": ""}
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {script}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [0, True, {"min_size": 1, "max_size": 8}]


def test_consecutive_requests_reuse_the_backend_and_a_killed_one_is_replaced(web_server):
    server = web_server(settings="ordersync.settings.production", env={"WEB_CONCURRENCY": "1", "WEB_THREADS": "1"})
    session = requests.Session()

    def ready():
        response = session.get(server.url("/readyz"), timeout=30)
        assert response.status_code == 200, response.text
        return backends(server.app_name)

    first = ready()
    assert len(first) == 1, "the request's connection was closed when it ended"
    for _ in range(5):
        assert ready() == first

    terminate(pid for pid, _started in first)
    wait_until(lambda: backends(server.app_name) == [], message="the backend to be gone")
    replaced = ready()  # 200: the health check found the dead connection before the view used it
    assert len(replaced) == 1 and replaced != first


@pytest.mark.needs_broker
@pytest.mark.parametrize("pool", [False, True], ids=["persistent", "psycopg-pool"])
def test_consecutive_tasks_of_one_worker_reuse_the_backend_and_a_killed_one_is_replaced(celery_workers, pool):
    from celery import current_app

    app_name = f"worker-reuse-{'pool' if pool else 'persistent'}"
    worker = celery_workers.start(queues=["default"], pool="prefork", concurrency=1,
                                  env={"PGAPPNAME": app_name, "DATABASE_POOL": str(pool).lower()})

    def run_task(expected_done: int):
        current_app.send_task("sync.tasks.deliveries_sweep", queue="default")
        wait_until(lambda: worker.log().count("sync.tasks.deliveries_sweep") >= 2 * expected_done
                   and worker.log().count("succeeded in") >= expected_done, timeout=60,
                   message=f"task {expected_done} to finish:\n{worker.log()[-3000:]}")
        return backends(app_name)

    first = run_task(1)
    assert first, "the task's connection was closed when it ended"
    assert len(first) <= 2  # persistent: the one connection; pool: the connections it holds (min_size 1)
    assert run_task(2) == first
    assert run_task(3) == first

    terminate(pid for pid, _started in first)
    wait_until(lambda: backends(app_name) == [], message="the backends to be gone")
    replaced = run_task(4)
    assert replaced and not {pid for pid, _s in replaced} & {pid for pid, _s in first}
    assert "OperationalError" not in worker.log() and " raised unexpected" not in worker.log()
