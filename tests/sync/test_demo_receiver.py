import json
from datetime import UTC, datetime

import pytest
from django.urls import path

from sync.demo_receiver import demo_receiver
from sync.services.endpoints import endpoint_create
from sync.signing import build_body, signed_headers

urlpatterns = [path("demo/receiver/<slug:name>/", demo_receiver)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture
def endpoint():
    return endpoint_create(
        name="demo-payment", kind="payment", url="http://127.0.0.1:8000/demo/receiver/demo-payment/",
        topics=["order.*"],
    ).endpoint


def post_signed(client, endpoint, *, secret=None, body=None):
    now = datetime.now(UTC)
    body = body or build_body(topic="order.created", payload={"number": "A1"}, sequence=1, order_id=7, timestamp=now)
    headers = signed_headers(secret=secret or endpoint.secret, message_id="evt-1", body=body, now=now)
    return client.post(
        f"/demo/receiver/{endpoint.name}/", data=body, content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )


def test_a_correctly_signed_delivery_is_accepted_and_logged(client, endpoint, caplog):
    caplog.set_level("INFO", logger="sync.demo_receiver")
    assert post_signed(client, endpoint).status_code == 204
    assert "demo receiver demo-payment accepted order.created webhook-id=evt-1 sequence=1" in caplog.text


def test_a_delivery_signed_with_another_secret_is_refused(client, endpoint):
    other = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    response = post_signed(client, endpoint, secret=other)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"


def test_a_body_changed_after_signing_is_refused(client, endpoint):
    now = datetime.now(UTC)
    body = build_body(topic="order.created", payload={"number": "A1"}, sequence=1, order_id=7, timestamp=now)
    headers = signed_headers(secret=endpoint.secret, message_id="evt-1", body=body, now=now)
    tampered = json.dumps({**json.loads(body), "type": "order.cancelled"})
    response = client.post(
        f"/demo/receiver/{endpoint.name}/", data=tampered, content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )
    assert response.status_code == 400


def test_an_unknown_endpoint_is_404(client, endpoint):
    assert client.post("/demo/receiver/nobody/", data="{}", content_type="application/json").status_code == 404
