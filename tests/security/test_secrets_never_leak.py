"""OWASP API8 (misconfiguration: secrets in logs and pages): once created, an API key, a channel's webhook secret
and an endpoint's signing secret never appear in the web or worker logs, in admin pages or in API answers.

The system runs as deployed: gunicorn from the Procfile (access log on) and a Celery worker, both with production
settings at LOG_LEVEL=DEBUG (the most a log could hold). The test creates the secrets, uses each of them (orders
and a transition with the key, a wrong key, a signed and a mis-signed Shopify webhook, a signed delivery to an
endpoint), then searches everything captured for the secret strings.
"""

import base64
import hashlib
import hmac
import json
import secrets

import pytest
import requests
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from channels_integration.connectors.setup import channel_set_up
from channels_integration.models import InboundMessage
from channels_integration.services import api_key_create
from sync.services import endpoint_create
from tests.harness.celery_worker import wait_until
from tests.orders.factories import order_body, stock_skus
from tests.ordersync import servers

web_server = servers.web_server  # the fixture, shared with tests/ordersync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_broker]

PRODUCTION = {"DJANGO_SETTINGS_MODULE": "ordersync.settings.production", "LOG_LEVEL": "DEBUG",
              "SECURE_SSL_REDIRECT": "false", "SYNC_ALLOW_PRIVATE_ENDPOINTS": "true"}


def _shopify(server, code: str, secret: str, webhook_id: str, body: bytes) -> requests.Response:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return requests.post(server.url(f"/webhooks/shopify/{code}/"), data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": webhook_id})


def _admin_pages() -> list[str]:
    """Every admin changelist and the change page of up to three objects of each model, as an operator sees them."""
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    pages = []
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        changelist = client.get(reverse(f"admin:{info[0]}_{info[1]}_changelist"))
        assert changelist.status_code == 200, (info, changelist.status_code)
        pages.append(changelist.content.decode())
        for obj in model_admin.get_queryset(changelist.wsgi_request)[:3]:
            change = client.get(reverse(f"admin:{info[0]}_{info[1]}_change", args=[obj.pk]))
            assert change.status_code == 200, (info, obj.pk, change.status_code)
            pages.append(change.content.decode())
    return pages


def test_no_secret_appears_in_logs_admin_pages_or_api_answers(web_server, celery_workers, http_server, settings):
    settings.SYNC_ALLOW_PRIVATE_ENDPOINTS = True  # the receiver listens on 127.0.0.1
    stock_skus("SKU-A", "SKU-B", quantity=100)
    webhook_secret = f"shop-{secrets.token_hex(16)}"
    shop = channel_set_up(code="leak-shop", kind="shopify", currency="EUR", webhook_secret=webhook_secret)
    rest = channel_set_up(code="leak-rest")
    key = api_key_create(channel=rest, scopes=["orders:write", "orders:read", "payments"]).secret
    endpoint_secret = endpoint_create(name="leak-receiver", kind="notification", url=http_server.url("/hook"),
                                      topics=["order.*"]).secret
    # The part of each secret that is secret (a key's prefix before the dot is its public name).
    hidden = {"api key": key.split(".", 1)[1], "webhook secret": webhook_secret,
              "endpoint secret": endpoint_secret.removeprefix("whsec_")}
    assert all(len(value) >= 16 for value in hidden.values()), hidden

    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}
    web = web_server(settings=PRODUCTION["DJANGO_SETTINGS_MODULE"], env=env)
    worker = celery_workers.start(env=env)
    answers = []
    auth = {"Authorization": f"Bearer {key}"}

    created = requests.post(web.url("/api/v1/orders/"), json=order_body(), headers=auth, timeout=30)
    assert created.status_code == 201, created.text[:300]
    order = created.json()
    answers += [created, requests.get(web.url(f"/api/v1/orders/{order['id']}/"), headers=auth, timeout=30)]
    answers.append(requests.post(web.url(f"/api/v1/orders/{order['id']}/transitions/pay/"), headers=auth, timeout=30,
                                 json={"amount": order["total"], "currency": "EUR", "payment_reference": "p-1"}))
    wrong = requests.get(web.url("/api/v1/orders/"), headers={"Authorization": f"Bearer {key[:-2]}xx"}, timeout=30)
    assert wrong.status_code == 401
    answers.append(wrong)
    shopify_order = json.dumps({"id": 5151, "name": "#L1", "currency": "EUR", "email": "a@example.com",
                                "line_items": [{"id": 1, "sku": "SKU-A", "quantity": 1, "price": "10.00"}]}).encode()
    signed = _shopify(web, shop.code, webhook_secret, "leak-1", shopify_order)
    mis_signed = _shopify(web, shop.code, webhook_secret + "x", "leak-2", shopify_order)
    assert (signed.status_code, mis_signed.status_code) == (200, 401), (signed.text, mis_signed.text)
    answers += [signed, mis_signed]
    wait_until(lambda: len(http_server.requests) >= 2, timeout=90, message="signed deliveries to the receiver")
    wait_until(lambda: not InboundMessage.objects.filter(state=InboundMessage.State.RECEIVED).exists(), timeout=60,
               message="the webhook to be processed")

    captured = {"web log": web.log(), "worker log": worker.log(),
                "API answers": "\n".join(f"{r.headers}\n{r.text}" for r in answers),
                "admin pages": "\n".join(_admin_pages())}
    # Evidence that each source really holds what the secrets were used for, or finding nothing proves nothing.
    assert "/api/v1/orders/" in captured["web log"] and "/webhooks/shopify/leak-shop/" in captured["web log"]
    assert "webhook-signature" in {h.lower() for h in http_server.requests[0].headers}
    assert "leak-receiver" in captured["admin pages"] and "leak-shop" in captured["admin pages"]
    assert "DEBUG" in captured["worker log"] or "debug" in captured["worker log"]
    for where, text in captured.items():
        for name, value in hidden.items():
            assert value not in text, f"the {name} appears in the {where}"
