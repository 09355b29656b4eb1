"""The documentation runs as written: every ```sh block of docs/*.md is executed, in order, one bash session per
page, against a live server seeded as `make run` seeds it (`manage.py seed_demo`), with `http://127.0.0.1:8000`
pointing at that server and `python manage.py` at its database. A failing command (curl -f on a 4xx, a
CommandError) fails the test with the page's output."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAKE_RUN_BASE = "http://127.0.0.1:8000"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def sh_blocks(page: Path) -> list[str]:
    return SH_BLOCK.findall(page.read_text())


PAGES = [page for page in DOCS if sh_blocks(page)]


def test_the_pages_that_promise_runnable_examples_have_them():
    assert {page.name for page in PAGES} >= {"API.md", "OPERATIONS.md"}
    assert len(sh_blocks(ROOT / "docs" / "API.md")) >= 6


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def seeded_like_make_run(live_server, tmp_path):
    """The live server's (test) database seeded by the same command `make run` uses; an environment in which
    `python manage.py ...` reaches that database, as an operator's shell next to the server would."""
    assert shutil.which("curl") and shutil.which("jq"), "the documented examples use curl and jq; install them"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ordersync.settings.test",
        "DATABASE_URL": _database_url(),
        "ORDERSYNC_RUN_DIR": str(tmp_path),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    seeded = subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert seeded.returncode == 0, seeded.stderr
    return live_server.url, env


def _api_page_story(stdout: str) -> None:
    """The API page's story left what it says: created once, replayed, paid, bulk item refused, SKU created."""
    from inventory.models import Sku
    from orders.models import Order

    assert "201\n200\n" in stdout  # the retry without placed_at is a replay
    order = Order.objects.get(channel__code="webshop", external_id="1001")
    assert order.status == "paid" and str(order.total) == "64.600"
    assert Order.objects.filter(channel__code="webshop", external_id="1002").count() == 1
    assert not Order.objects.filter(external_id="1004").exists()  # the bulk item with an unknown SKU
    assert Sku.objects.get(code="SCARF-RED").safety_stock == 1


def _operations_page_story(stdout: str) -> None:
    from channels_integration.models import ApiKey

    assert ApiKey.objects.filter(channel__code="marketplace-eu").count() == 1


STORIES = {"API.md": _api_page_story, "OPERATIONS.md": _operations_page_story}


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_sh_example_runs_as_written(seeded_like_make_run, page):
    base, env = seeded_like_make_run
    script = "\n".join(block.replace(MAKE_RUN_BASE, base) for block in sh_blocks(page))
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"{page.name} failed:\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert "Traceback" not in result.stderr
    if page.name in STORIES:
        STORIES[page.name](result.stdout)
