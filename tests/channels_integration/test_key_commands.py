"""revoke_api_key and list_api_keys: a leaked key is stopped on its own, at once, without printing any secret."""

import json
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command

from channels_integration.models import ApiKey
from channels_integration.services import api_key_create
from tests.factories import ChannelFactory


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def get_orders(base: str, secret: str) -> requests.Response:
    return requests.get(f"{base}/api/v1/orders/", headers={"Authorization": f"Bearer {secret}"}, timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_revoked_key_answers_401_on_the_next_request_and_the_channels_other_keys_keep_working(live_server):
    channel = ChannelFactory(code="webshop-eu")
    leaked = api_key_create(channel=channel, scopes=["orders:read"], name="leaked")
    other = api_key_create(channel=channel, scopes=["orders:read"], name="other")
    assert get_orders(live_server.url, leaked.secret).status_code == 200

    printed = json.loads(run("revoke_api_key", leaked.api_key.prefix))

    assert printed == {"prefix": leaked.api_key.prefix, "channel": "webshop-eu", "already_revoked": False,
                       "revoked_at": printed["revoked_at"]}
    refused = get_orders(live_server.url, leaked.secret)
    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_failed"
    assert "revoked" in refused.json()["detail"]
    assert get_orders(live_server.url, other.secret).status_code == 200


@pytest.mark.django_db
def test_revoking_twice_says_so_and_keeps_the_first_time():
    issued = api_key_create(channel=ChannelFactory(), scopes=["orders:read"])
    first = json.loads(run("revoke_api_key", issued.api_key.prefix))
    again = json.loads(run("revoke_api_key", issued.api_key.prefix))
    assert again["already_revoked"] is True
    assert again["revoked_at"] == first["revoked_at"]


@pytest.mark.django_db
def test_a_whole_key_pasted_by_mistake_revokes_it_without_echoing_the_secret():
    issued = api_key_create(channel=ChannelFactory(), scopes=["orders:read"])
    output = run("revoke_api_key", issued.secret)
    assert issued.secret.split(".", 1)[1] not in output
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["osk_00000000", "not-a-prefix"])
def test_an_unknown_prefix_says_how_to_find_the_right_one(prefix):
    with pytest.raises(CommandError, match="list_api_keys CHANNEL") as error:
        run("revoke_api_key", prefix)
    assert prefix in str(error.value)


@pytest.mark.django_db
def test_list_api_keys_shows_each_key_without_any_secret():
    channel = ChannelFactory(code="webshop-eu")
    active = api_key_create(channel=channel, scopes=["orders:read", "orders:write"], name="storefront")
    revoked = api_key_create(channel=channel, scopes=["orders:read"], name="old")
    run("revoke_api_key", revoked.api_key.prefix)
    other_channel = api_key_create(channel=ChannelFactory(code="marketplace"), scopes=["orders:read"])

    output = run("list_api_keys", "webshop-eu")

    lines = output.splitlines()
    assert lines[0].split() == ["PREFIX", "NAME", "SCOPES", "CREATED", "LAST", "USED", "REVOKED"]
    storefront = next(line for line in lines if line.startswith(active.api_key.prefix))
    assert "storefront" in storefront and "orders:read,orders:write" in storefront
    assert storefront.rstrip().endswith("-")  # not revoked
    old = next(line for line in lines if line.startswith(revoked.api_key.prefix))
    assert old.rstrip().endswith("UTC")
    assert other_channel.api_key.prefix not in output
    for issued in (active, revoked):
        assert issued.secret.split(".", 1)[1] not in output
        assert issued.api_key.secret_hash not in output


@pytest.mark.django_db
def test_list_api_keys_for_an_unknown_channel_lists_the_known_ones():
    ChannelFactory(code="webshop-eu")
    with pytest.raises(CommandError, match="Known channels: webshop-eu"):
        run("list_api_keys", "nope")


@pytest.mark.django_db
def test_list_api_keys_of_a_channel_without_keys_says_how_to_make_one():
    ChannelFactory(code="webshop-eu")
    assert "create_api_key webshop-eu" in run("list_api_keys", "webshop-eu")
