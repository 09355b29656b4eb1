"""Webhook signatures against a live server: a stored delivery replayed verbatim is answered as a duplicate and
stores nothing; the same signature on a changed body, or a body signed with another secret, is refused."""

import pytest

from channels_integration.connectors.setup import channel_set_up
from channels_integration.models import Channel, InboundMessage
from tests.channels_integration.conftest import SHOPIFY_SECRET, Poster
from tests.channels_integration.payloads import encode, shopify_headers, shopify_order

pytestmark = [pytest.mark.needs_broker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db):
    return channel_set_up(code="shop", kind="shopify", currency="USD", webhook_secret=SHOPIFY_SECRET)


@pytest.fixture
def poster(live_server):
    poster = Poster(live_server.url)
    yield poster
    poster.http.close()


def test_replay_of_a_stored_delivery_id_stores_nothing_and_tampering_is_refused(poster, shop):
    body = encode(shopify_order(order_id=9001))
    headers = shopify_headers(SHOPIFY_SECRET, body, webhook_id="delivery-1")
    first = poster.shopify("shop", body, headers)
    assert first.status_code == 200 and first.json()["ok"] is True

    replay = poster.shopify("shop", body, headers)
    assert replay.status_code == 200 and replay.json().get("duplicate") is True

    tampered = body.replace(b'"9001"', b'"9002"') if b'"9001"' in body else body.replace(b"9001", b"9002")
    assert tampered != body
    refused = poster.shopify("shop", tampered, {**headers, "X-Shopify-Webhook-Id": "delivery-2"})
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_signature"
    wrong_secret = poster.shopify("shop", body, shopify_headers("not-the-secret", body, webhook_id="delivery-3"))
    assert wrong_secret.status_code == 401 and wrong_secret.json()["code"] == "invalid_signature"

    assert InboundMessage.objects.count() == 1
    assert Channel.objects.get(code="shop").webhook_rejections == 2
