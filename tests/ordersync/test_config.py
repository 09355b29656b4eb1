import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest


def assert_one_clear_line(result, variable: str):
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]


@pytest.mark.parametrize(
    "value",
    ["foo://bar", "not a url", "postgres://user@host:notaport/db", "mysql://root@127.0.0.1/ordersync"],
)
def test_unusable_database_url_gives_one_line_naming_it(run_manage, value):
    assert_one_clear_line(run_manage("check", env={"DATABASE_URL": value}), "DATABASE_URL")


@pytest.mark.parametrize("value", ["nonsense", "http://127.0.0.1:6379"])
def test_unusable_broker_url_gives_one_line_naming_it(run_manage, value):
    assert_one_clear_line(run_manage("check", env={"CELERY_BROKER_URL": value}), "CELERY_BROKER_URL")


def test_production_refuses_to_start_without_a_real_secret_key(run_manage):
    result = run_manage("check", env={"SECRET_KEY": ""}, settings_module="ordersync.settings.production")
    assert_one_clear_line(result, "SECRET_KEY")


def test_production_passes_the_deployment_checklist(run_manage):
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        env={"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "orders.example.com"},
        settings_module="ordersync.settings.production",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(("variable", "value"), [("WEB_THREADS", "lots"), ("WEB_CONCURRENCY", "0")])
def test_an_unusable_gunicorn_size_gives_one_line_naming_it(variable, value):
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = subprocess.run(
        [str(gunicorn), "ordersync.wsgi", "-c", "python:ordersync.gunicorn_conf", "--bind", "127.0.0.1:0"],
        env={**os.environ, variable: value}, capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert_one_clear_line(result, variable)
