import pytest
from django.core.exceptions import ValidationError

from channels_integration.models import ApiKey, Channel
from channels_integration.services import api_key_create, api_key_revoke, channel_create, hash_secret
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_only_a_hash_and_a_prefix_of_the_key_are_stored():
    issued = api_key_create(channel=ChannelFactory(), scopes=["orders:read"])
    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.secret.startswith(stored.prefix + ".")
    assert stored.secret_hash == hash_secret(issued.secret)
    assert issued.secret not in str(stored.__dict__)


def test_unknown_scopes_are_refused_and_nothing_is_stored():
    with pytest.raises(ValidationError) as error:
        api_key_create(channel=ChannelFactory(), scopes=["orders:read", "everything"])
    assert "everything" in str(error.value)
    assert ApiKey.objects.count() == 0


def test_revoking_twice_keeps_the_first_revocation_time():
    issued = api_key_create(channel=ChannelFactory(), scopes=["orders:read"])
    first = api_key_revoke(api_key=issued.api_key).revoked_at
    assert api_key_revoke(api_key=issued.api_key).revoked_at == first


@pytest.mark.parametrize(("field", "value"), [("currency", "euro"), ("kind", "ebay"), ("code", "has spaces")])
def test_channel_create_validates_its_fields(field, value):
    kwargs = {"code": "shop", field: value}
    with pytest.raises(ValidationError) as error:
        channel_create(**kwargs)
    assert field in error.value.message_dict
    assert not Channel.objects.exists()
