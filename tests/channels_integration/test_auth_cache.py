"""The web process's API-key cache: revocation lag, invalidation in the revoking process, throttled last use."""

import pytest
from cachetools import TTLCache
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from channels_integration import auth
from channels_integration.models import ApiKey
from channels_integration.services import api_key_revoke
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """The key cache with a clock the test moves: the lag is shown without sleeping."""
    clock = Clock()
    monkeypatch.setattr(auth, "_keys", TTLCache(maxsize=100, ttl=settings.API_KEY_CACHE_SECONDS, timer=clock))
    return clock


@pytest.fixture
def issued():
    return ApiKeyFactory.issue(scopes=["orders:read"])


def client_for(issued) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client


def test_a_key_revoked_elsewhere_is_refused_after_at_most_the_cache_lifetime(clock, issued):
    client = client_for(issued)
    assert client.get(ORDERS).status_code == 200
    # What another web process's revocation looks like here: the row changes, nothing tells this process.
    ApiKey.objects.filter(pk=issued.api_key.pk).update(revoked_at=timezone.now())
    clock.now += settings.API_KEY_CACHE_SECONDS - 0.1
    assert client.get(ORDERS).status_code == 200  # the documented lag
    clock.now += 0.1
    response = client.get(ORDERS)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_a_key_revoked_in_this_process_is_refused_at_once(clock, issued):
    client = client_for(issued)
    assert client.get(ORDERS).status_code == 200
    api_key_revoke(api_key=issued.api_key)
    assert client.get(ORDERS).status_code == 401


def test_a_channel_deactivated_in_this_process_is_refused_at_once(clock, issued):
    client = client_for(issued)
    assert client.get(ORDERS).status_code == 200
    channel = issued.api_key.channel
    channel.active = False
    channel.save()
    assert client.get(ORDERS).status_code == 401


def test_a_cached_key_still_needs_its_secret(clock, issued):
    assert client_for(issued).get(ORDERS).status_code == 200
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.api_key.prefix}.not-the-secret")
    assert forged.get(ORDERS).status_code == 401


def test_a_cached_key_costs_no_query_and_last_use_is_written_once_per_resolution(clock, issued):
    client = client_for(issued)
    client.get(ORDERS)
    first_use = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ORDERS).status_code == 200
    assert not [q for q in queries.captured_queries if "channels_integration_apikey" in q["sql"]]
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at == first_use
