import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from channels_integration.auth import ApiKeyAuthentication
from channels_integration.models import ApiKey, Channel

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
    printed = run("create_api_key", "shop", "--scopes", "orders:read,inventory")
    assert printed["scopes"] == ["inventory", "orders:read"]
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
