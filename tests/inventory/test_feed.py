"""stock.changed events: coalesced per SKU, always ending on the true number."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db.models import F

from inventory.models import StockLevel
from inventory.selectors import available_to_sell
from inventory.services import (
    LineRequest,
    sku_upsert,
    stock_adjust,
    stock_commit,
    stock_receive,
    stock_release,
    stock_reserve,
)
from inventory.tasks import publish_stock_changes
from sync.models import Event
from tests.inventory.factories import SkuFactory, WarehouseFactory, stock
from tests.threads import run_concurrently

ROOT = Path(__file__).resolve().parents[2]


def _dirty(code: str) -> bool:
    return StockLevel.objects.filter(sku__code=code, version__gt=F("published_version")).exists()


def _events(code: str) -> list[dict]:
    return [e.payload for e in Event.objects.filter(topic="stock.changed", stream=f"sku:{code}").order_by("sequence")]


@pytest.mark.django_db
def test_a_hundred_changes_become_a_few_events_ending_on_the_true_value(warehouse, sku):
    stock(sku, warehouse, 500)
    for i in range(100):
        if i % 3 == 0:
            stock_reserve(order_id=i, lines=[LineRequest(i, sku.code, 2)], actor="t")
        elif i % 3 == 1:
            stock_adjust(sku_code=sku.code, warehouse_code="main", delta=-1, reason="damaged", actor="t")
        else:
            stock_release(order_id=i - 2, actor="t", reason="cancelled")
        if i % 25 == 24:
            publish_stock_changes()
    publish_stock_changes()

    events = _events(sku.code)
    assert len(events) == 4  # one per publish run, however many changes came between
    truth = available_to_sell(sku_codes=[sku.code])[sku.code]
    assert events[-1]["available"] == truth == 500 - 33 - 2
    assert events[-1]["sku"] == sku.code
    assert not _dirty(sku.code)
    assert publish_stock_changes() == 0  # nothing pending: no event


@pytest.mark.django_db
def test_every_kind_of_change_marks_the_sku(warehouse):
    sku_upsert(code="K", name="K", actor="t")
    for change in (
        lambda: stock_receive(sku_code="K", warehouse_code="main", quantity=5, actor="t"),
        lambda: stock_adjust(sku_code="K", warehouse_code="main", on_hand=4, reason="count", actor="t"),
        lambda: stock_reserve(order_id=1, lines=[LineRequest(1, "K", 1)], actor="t"),
        lambda: stock_release(order_id=1, actor="t", reason="cancelled"),
        lambda: stock_reserve(order_id=2, lines=[LineRequest(1, "K", 1)], actor="t"),
        lambda: stock_commit(order_id=2, actor="t"),
        lambda: sku_upsert(code="K", name="K", safety_stock=1, actor="t"),
    ):
        change()
        assert _dirty("K")
        publish_stock_changes()
    assert [e["available"] for e in _events("K")] == [5, 4, 3, 4, 3, 3, 2]


@pytest.mark.django_db(transaction=True)
def test_publisher_racing_a_burst_of_changes_ends_on_the_true_value():
    sku = SkuFactory(code="BURST")
    warehouse = WarehouseFactory(code="main")
    stock(sku, warehouse, 1000)
    done = threading.Event()

    def changer(n):
        def run():
            for k in range(25):
                stock_reserve(order_id=n * 1000 + k, lines=[LineRequest(k, "BURST", 1)], actor="t")
                if k % 5 == 0:
                    stock_release(order_id=n * 1000 + k, actor="t", reason="cancelled")
        return run

    def publisher():
        published = 0
        while not done.is_set():
            published += publish_stock_changes()
        return published

    # Two publishers race each other as well as the changers: each SKU is published by one at a time.
    publishers = [threading.Thread(target=lambda: _closing(publisher)) for _ in range(2)]
    for thread in publishers:
        thread.start()
    results = run_concurrently([changer(n) for n in range(6)])
    done.set()
    for thread in publishers:
        thread.join(30)
    assert [r for kind, r in results if kind == "error"] == []
    publish_stock_changes()

    events = _events("BURST")
    assert 1 <= len(events) < 6 * 30  # far fewer events than the 180 changes
    assert events[-1]["available"] == available_to_sell(sku_codes=["BURST"])["BURST"] == 1000 - 6 * 20


def _closing(fn):
    from django.db import connection

    try:
        return fn()
    finally:
        connection.close()


def test_feed_works_on_sqlite(tmp_path):
    """`make run` uses SQLite: SKIP LOCKED is ignored there, the upsert must still work."""
    script = (
        "import django; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from inventory.services import *; from inventory.services import stock_feed_publish;"
        "from sync.models import Event;"
        "sku_upsert(code='S', name='S', actor='t'); warehouse_upsert(code='w', name='W');"
        "[stock_receive(sku_code='S', warehouse_code='w', quantity=1, actor='t') for _ in range(10)];"
        "stock_reserve(order_id=1, lines=[LineRequest(1, 'S', 3)], actor='t');"
        "print(stock_feed_publish(), [e.payload['available'] for e in Event.objects.filter(stream='sku:S')])"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_SETTINGS_MODULE": "ordersync.settings.test",
    }
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "(1, False) [7]"


@pytest.mark.needs_broker
@pytest.mark.django_db(transaction=True)
def test_only_the_change_that_makes_a_sku_dirty_nudges_the_publisher(settings):
    from kombu import Connection

    sku = SkuFactory(code="NUDGE")
    warehouse = WarehouseFactory(code="main")
    stock(sku, warehouse, 10)
    publish_stock_changes()  # clean again
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with Connection(settings.CELERY_BROKER_URL) as conn:
        client = conn.channel().client
        client.delete(queue)
        stock_reserve(order_id=1, lines=[LineRequest(1, "NUDGE", 1)], actor="t")
        assert client.llen(queue) == 1
        for _ in range(10):
            stock_adjust(sku_code="NUDGE", warehouse_code="main", delta=1, reason="found", actor="t")
        assert client.llen(queue) == 1  # already dirty: the pending publish will carry these too
        publish_stock_changes()
        stock_release(order_id=1, actor="t", reason="cancelled")
        assert client.llen(queue) == 2
        client.delete(queue)
    assert _events("NUDGE")[-1]["available"] == 19


@pytest.mark.needs_broker
@pytest.mark.django_db(transaction=True)
def test_publisher_comes_back_when_work_is_left(settings):
    from kombu import Connection

    from inventory.services import stock_feed_publish

    warehouse = WarehouseFactory(code="main")
    for code in ("L1", "L2", "L3"):
        stock(SkuFactory(code=code), warehouse, 5)
    assert stock_feed_publish(limit=2) == (2, True)  # one SKU beyond the batch
    assert stock_feed_publish(limit=2) == (1, False)
    stock_receive(sku_code="L1", warehouse_code="main", quantity=1, actor="t")
    stock_receive(sku_code="L2", warehouse_code="main", quantity=1, actor="t")
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with Connection(settings.CELERY_BROKER_URL) as conn:
        client = conn.channel().client
        client.delete(queue)
        assert publish_stock_changes(limit=1) == 1
        assert client.llen(queue) == 1  # the task re-nudged itself for the SKU it left behind
        assert publish_stock_changes(limit=1) == 1
        assert client.llen(queue) == 1  # nothing left: no further nudge
        client.delete(queue)


def test_beat_schedule_runs_the_registered_publisher():
    from django.conf import settings

    from ordersync.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["inventory-publish-stock-changes"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert entry["schedule"].total_seconds() > 0
