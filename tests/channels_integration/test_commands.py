import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from channels_integration.auth import ApiKeyAuthentication
from channels_integration.models import ApiKey, Channel
from sync.models import Endpoint

pytestmark = pytest.mark.django_db


def run(*args) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_create_channel_prints_the_channel_as_json():
    printed = run("create_channel", "shopify-eu", "--kind", "shopify", "--currency", "EUR", "--webhook-secret", "s3")
    assert printed["code"] == "shopify-eu"
    assert Channel.objects.get(code="shopify-eu").kind == "shopify"


def test_create_channel_twice_explains_the_clash():
    run("create_channel", "shop")
    with pytest.raises(CommandError, match="code"):
        run("create_channel", "shop")


def test_create_api_key_prints_a_secret_that_works_once_stored_nowhere():
    run("create_channel", "shop")
    printed = run("create_api_key", "shop", "--scopes", "orders:read,inventory:read")
    assert printed["scopes"] == ["inventory:read", "orders:read"]
    assert not ApiKey.objects.filter(secret_hash=printed["key"]).exists()
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {printed['key']}"))
    principal, api_key = ApiKeyAuthentication().authenticate(request)
    assert principal.channel.code == "shop"
    assert api_key.prefix == printed["prefix"]


def test_create_api_key_for_an_unknown_channel_lists_the_known_ones():
    run("create_channel", "shop")
    with pytest.raises(CommandError, match="Known channels: shop"):
        run("create_api_key", "nope", "--scopes", "orders:read")


def test_create_api_key_with_an_unknown_scope_lists_the_valid_ones():
    run("create_channel", "shop")
    with pytest.raises(CommandError, match="orders:write"):
        run("create_api_key", "shop", "--scopes", "root")
    assert not ApiKey.objects.exists()


def test_create_channel_prints_the_webhook_secret_once_and_generates_one_for_woocommerce():
    printed = run("create_channel", "woo", "--kind", "woocommerce", "--store-url", "https://shop.example.com")
    stored = Channel.objects.get(code="woo")
    assert len(printed["webhook_secret"]) >= 40 and printed["webhook_secret"] == stored.webhook_secret
    assert printed["webhook_url_path"] == "/webhooks/woocommerce/woo/" and printed["stock_feed"] is False
    given = run("create_channel", "shopify-eu", "--kind", "shopify", "--webhook-secret", "shpss_abc",
                "--shop-domain", "My-Store.myshopify.com", "--api-token", "shpat_x")
    assert given["webhook_secret"] == "shpss_abc" and given["stock_feed"] is True
    channel = Channel.objects.get(code="shopify-eu")
    assert channel.api_base_url == "https://my-store.myshopify.com"
    endpoint = Endpoint.objects.get(name="channel-shopify-eu-stock")
    assert (endpoint.kind, endpoint.handler, endpoint.handler_options, endpoint.topics) == (
        "channel", "channels.stock_push", {"channel": "shopify-eu"}, ["stock.changed"])
    assert "webhook_secret" not in run("create_channel", "rest")  # API channels receive no webhooks


@pytest.mark.parametrize(("args", "message"), [
    (["--kind", "shopify"], "client secret"),
    (["--kind", "shopify", "--webhook-secret", "s", "--shop-domain", "not a domain"], "shop_domain"),
    (["--kind", "woocommerce", "--store-url", "https://x.example", "--api-token", "no-colon"], "consumer_key"),
    (["--kind", "api", "--api-token", "t"], "api_token"),
])
def test_create_channel_refuses_an_unusable_connection_and_says_why(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_channel", "c", *args)
    assert not Channel.objects.exists() and not Endpoint.objects.exists()


def test_shop_domain_and_store_url_are_exclusive():
    with pytest.raises(CommandError, match="not allowed with"):
        run("create_channel", "c", "--kind", "shopify", "--shop-domain", "a.myshopify.com", "--store-url",
            "https://b.example")
