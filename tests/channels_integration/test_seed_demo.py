import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from channels_integration.models import Channel
from inventory.models import Sku, StockLevel, StockMovement
from inventory.selectors import available_to_sell
from sync.models import Endpoint
from tests.channels_integration.payloads import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_dir(tmp_path, settings):
    settings.RUN_DIR = tmp_path
    return tmp_path


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_loads_channels_stock_in_two_warehouses_and_prints_a_working_login(run_dir, client):
    printed = seed()
    assert set(Channel.objects.values_list("code", flat=True)) >= {"webshop", "shopify-demo", "woo-demo"}
    assert StockLevel.objects.values("warehouse").distinct().count() == 2
    assert available_to_sell(sku_codes=["TSHIRT-BLK-M"]) == {"TSHIRT-BLK-M": 40 + 25 - 2}
    username, password = re.search(r"username '([^']+)' password '([^']+)'", printed).groups()
    assert client.login(request=RequestFactory().post("/admin/login/"), username=username, password=password)


def test_seed_demo_is_idempotent_and_keeps_the_password(run_dir):
    first = seed()
    counts = (Channel.objects.count(), Sku.objects.count(), StockMovement.objects.count())
    second = seed()
    assert (Channel.objects.count(), Sku.objects.count(), StockMovement.objects.count()) == counts
    assert first == second
    assert get_user_model().objects.filter(username="operator").count() == 1


def test_a_lost_password_file_gets_a_fresh_password_that_works(run_dir, client):
    seed()
    (run_dir / "operator-password").unlink()
    username, password = re.search(r"username '([^']+)' password '([^']+)'", seed()).groups()
    assert client.login(request=RequestFactory().post("/admin/login/"), username=username, password=password)


def test_demo_endpoints_point_at_the_running_server_and_follow_it_to_a_new_port(run_dir):
    seed("--receiver-base", "http://127.0.0.1:8000")
    urls = dict(Endpoint.objects.values_list("name", "url"))
    assert urls["demo-payment"] == "http://127.0.0.1:8000/demo/receiver/demo-payment/"
    assert set(Endpoint.objects.values_list("kind", flat=True)) == {"payment", "stock", "logistics", "notification"}
    secrets_before = dict(Endpoint.objects.values_list("name", "secret"))
    seed("--receiver-base", "http://127.0.0.1:9000/")
    assert Endpoint.objects.get(name="demo-payment").url == "http://127.0.0.1:9000/demo/receiver/demo-payment/"
    assert dict(Endpoint.objects.values_list("name", "secret")) == secrets_before


def test_demo_stores_have_webhook_secrets_and_the_printed_post_works(run_dir, client):
    printed = seed("--receiver-base", "http://127.0.0.1:8000")
    line = next(line for line in printed.splitlines() if "/webhooks/shopify/shopify-demo/" in line)
    secret = re.search(r"secret '([^']+)'", line).group(1)
    assert Channel.objects.get(code="shopify-demo").webhook_secret == secret
    assert "/webhooks/woocommerce/woo-demo/" in printed
    body = b'{"id": 1, "currency": "EUR", "updated_at": "2026-11-20T10:00:00Z", "line_items": '\
           b'[{"sku": "MUG-LOGO", "quantity": 1, "price": "9.90"}]}'
    response = client.post("/webhooks/shopify/shopify-demo/", body, content_type="application/json",
                           HTTP_X_SHOPIFY_TOPIC="orders/create", HTTP_X_SHOPIFY_WEBHOOK_ID="demo-1",
                           HTTP_X_SHOPIFY_HMAC_SHA256=sign(secret, body))
    assert response.status_code == 200 and response.json()["ok"] is True
    assert seed().count("/webhooks/") == 2  # idempotent: the same secrets on every run
    assert Channel.objects.get(code="shopify-demo").webhook_secret == secret
