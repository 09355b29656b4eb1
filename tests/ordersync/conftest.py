import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ordersync.servers import web_server  # noqa: F401  (fixture for this package)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_manage():
    """Runs manage.py in a fresh process, as an operator would, with extra environment."""

    def run(*args: str, env: dict | None = None, settings_module: str = "ordersync.settings.test"):
        full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, **(env or {})}
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=full_env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )

    return run
