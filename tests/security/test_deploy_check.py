"""OWASP API8 (security misconfiguration): `manage.py check --deploy` is clean with production settings, and the
same check catches the switches production exposes (so "clean" is not a check that cannot fail)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, text=True,
        capture_output=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ordersync.settings.production",
             "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "orders.example.com", **env})


def test_production_settings_pass_the_deployment_checklist():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(("env", "warning"), [
    ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
    ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
])
def test_the_checklist_catches_a_weakened_production_switch(env, warning):
    result = _check_deploy(**env)
    assert result.returncode != 0 and warning in result.stderr + result.stdout, result.stdout + result.stderr
