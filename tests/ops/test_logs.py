"""Structured logs: JSON lines from a live gunicorn and a real worker, ids on the lines of a request, a task and a
delivery, and no secret in any line."""

import json
import os
import subprocess
import sys

import pytest
import requests

from channels_integration.services import api_key_create
from sync.models import Delivery
from tests.factories import ChannelFactory
from tests.harness.celery_worker import wait_until
from tests.ops.conftest import ROOT
from tests.orders.factories import make_order, stock_skus
from tests.sync.conftest import WORKER_ENV
from tests.sync.factories import make_endpoint

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_web_lines_are_json_with_the_request_id_and_never_a_key(make_web_server):
    channel = ChannelFactory(code="shop-logs")
    secret = api_key_create(channel=channel, scopes=["orders:read"]).secret
    server = make_web_server(LOG_FORMAT="json")
    auth = {"Authorization": f"Bearer {secret}"}

    missing = requests.get(f"{server.base}/api/v1/orders/424242/", headers={**auth, "X-Request-ID": "trace-7"},
                           timeout=30)
    assert missing.status_code == 404 and missing.headers["X-Request-ID"] == "trace-7"
    # A client that pastes its key into the URL: Django logs the path of every 404.
    pasted = requests.get(f"{server.base}/api/v1/orders/{secret}/", headers=auth, timeout=30)
    assert pasted.status_code == 404 and len(pasted.headers["X-Request-ID"]) == 32  # not a plain token → new id
    odd = requests.get(f"{server.base}/healthz", headers={"X-Request-ID": "a b<script>"}, timeout=30)
    assert odd.headers["X-Request-ID"] != "a b<script>"

    server.stop()
    text = server.log()
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines and all(line.startswith("{") for line in lines), f"not JSON: {[x for x in lines if x[0] != '{']}"
    records = json_lines(text)
    not_found = [r for r in records if r.get("request_id") == "trace-7"]
    assert not_found and not_found[0]["level"] == "warning" and not_found[0]["order_id"] == "424242"
    assert not_found[0]["path"] == "/api/v1/orders/424242/" and not_found[0]["logger"] == "django.request"
    assert {"timestamp", "event"} <= set(not_found[0]) and "message" not in not_found[0]
    assert any(r.get("logger") == "gunicorn.error" for r in records), "gunicorn's own lines are JSON too"
    assert secret not in text
    assert secret.split(".")[1] not in text
    assert f"{secret.split('.')[0]}.[redacted]" in text


def test_worker_lines_carry_task_and_delivery_ids(http_server, celery_workers, settings):
    stock_skus("SKU-A", "SKU-B")
    endpoint, signing_secret = make_endpoint(url=http_server.url("/pay"), retry_schedule=[0, 1])
    http_server.respond_sequence("/pay", [500])
    order = make_order(ChannelFactory(code="shop-worker-logs"))
    worker = celery_workers.start(env={**WORKER_ENV, "LOG_FORMAT": "json"})
    wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == 1, timeout=60,
               message="the delivery after one 500")

    records = json_lines(worker.log())
    delivery = Delivery.objects.get()
    failed = [r for r in records if r.get("delivery_id") == delivery.pk and r["level"] == "warning"]
    assert failed, "the failed attempt is logged with its delivery"
    assert failed[0]["endpoint"] == endpoint.name and failed[0]["order_id"] == order.pk
    assert failed[0]["status_code"] == 500 and failed[0]["attempt"] == 1
    drains = [r for r in records if r.get("task") == "sync.tasks.endpoint_drain"]
    assert drains and all(r["endpoint_id"] == endpoint.pk and r["task_id"] for r in drains)
    assert signing_secret not in worker.log() and signing_secret.removeprefix("whsec_") not in worker.log()


def test_production_logs_json_unless_told_otherwise():
    script = "from django.conf import settings; print(settings.LOG_FORMAT, settings.CELERY_WORKER_HIJACK_ROOT_LOGGER)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ordersync.settings.production", "SECRET_KEY": "x" * 60,
           }
    def run(**extra):
        return subprocess.run([sys.executable, "-c", f"import django; django.setup(); {script}"], cwd=ROOT,
                              env={**env, **extra}, capture_output=True, text=True, timeout=60)
    assert run().stdout.split() == ["json", "False"]
    assert run(LOG_FORMAT="plain").stdout.split() == ["plain", "True"]
    refused = run(LOG_FORMAT="xml")
    assert refused.returncode == 2 and "LOG_FORMAT='xml' must be plain or json" in refused.stderr
