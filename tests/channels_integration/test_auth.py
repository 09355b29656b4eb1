import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from channels_integration.models import ApiKey
from channels_integration.services import api_key_revoke
from tests.factories import ApiKeyFactory, ChannelFactory


class ScopedView(APIView):
    required_scopes = {"GET": ["orders:read"], "POST": ["orders:write"]}

    def get(self, request):
        return Response({"channel": request.user.channel.code, "prefix": request.auth.prefix})

    def post(self, request):
        return Response({"ok": True})


class UndeclaredView(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("scoped/", ScopedView.as_view()), path("undeclared/", UndeclaredView.as_view())]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def client_with(header: str | None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


def test_a_valid_key_authenticates_as_its_channel():
    issued = ApiKeyFactory.issue(channel=ChannelFactory(code="shop"), scopes=["orders:read"])
    response = client_with(f"Bearer {issued.secret}").get("/scoped/")
    assert response.status_code == 200
    assert response.json() == {"channel": "shop", "prefix": issued.api_key.prefix}


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "not_authenticated"),
        ("Token abc", "authentication_failed"),
        ("Bearer ", "authentication_failed"),
        ("Bearer not-our-key", "authentication_failed"),
        ("Bearer osk_00000000.wrong", "authentication_failed"),
    ],
)
def test_missing_or_malformed_credentials_get_401_with_a_code(header, code):
    response = client_with(header).get("/scoped/")
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused():
    issued = ApiKeyFactory.issue(scopes=["orders:read"])
    tampered = issued.secret[:-2] + ("aa" if not issued.secret.endswith("aa") else "bb")
    assert client_with(f"Bearer {tampered}").get("/scoped/").status_code == 401


def test_a_revoked_key_is_refused_and_says_so():
    issued = ApiKeyFactory.issue(scopes=["orders:read"])
    api_key_revoke(api_key=issued.api_key)
    response = client_with(f"Bearer {issued.secret}").get("/scoped/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_deactivated_channel_cannot_call_the_api():
    channel = ChannelFactory(active=False)
    issued = ApiKeyFactory.issue(channel=channel, scopes=["orders:read"])
    assert client_with(f"Bearer {issued.secret}").get("/scoped/").status_code == 401


def test_a_key_without_the_scope_gets_403_naming_the_scope():
    issued = ApiKeyFactory.issue(scopes=["orders:read"])
    response = client_with(f"Bearer {issued.secret}").post("/scoped/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "orders:write" in response.json()["detail"]


def test_a_view_that_declares_no_scopes_is_closed_to_every_key():
    issued = ApiKeyFactory.issue(scopes=["orders:read", "orders:write", "inventory:read"])
    assert client_with(f"Bearer {issued.secret}").get("/undeclared/").status_code == 403


def test_use_is_recorded_on_the_key():
    issued = ApiKeyFactory.issue(scopes=["orders:read"])
    client_with(f"Bearer {issued.secret}").get("/scoped/")
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at is not None
