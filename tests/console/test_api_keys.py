from django.urls import reverse

from channels_integration.models import ApiKey
from channels_integration.services import hash_secret


def test_an_admin_creates_a_key_and_sees_its_secret_once(client, admin_user_role, channel):
    client.force_login(admin_user_role)
    response = client.post(reverse("admin:channels_integration_apikey_add"),
                           {"channel": channel.pk, "name": "erp", "scopes": ["orders:read"]})
    body = response.content.decode()
    secret = body.split('<code id="api-key-secret">')[1].split("</code>")[0]
    key = ApiKey.objects.get(name="erp")
    assert key.secret_hash == hash_secret(secret)
    listing = client.get(reverse("admin:channels_integration_apikey_changelist")).content.decode()
    detail = client.get(reverse("admin:channels_integration_apikey_change", args=[key.pk])).content.decode()
    assert key.prefix in listing and secret not in listing and secret not in detail


def test_a_bad_scope_is_refused_and_nothing_is_created(client, admin_user_role, channel):
    client.force_login(admin_user_role)
    response = client.post(reverse("admin:channels_integration_apikey_add"), {"channel": channel.pk, "scopes": []})
    assert response.status_code == 400 and not ApiKey.objects.exists()


def test_operators_and_viewers_cannot_create_or_revoke(client, role_user, channel):
    key = ApiKey.objects.create(channel=channel, prefix="osk_x", secret_hash="x", scopes=["orders:read"])
    for role in ("viewer", "operator"):
        client.force_login(role_user(role))
        assert client.get(reverse("admin:channels_integration_apikey_add")).status_code == 403
        client.post(reverse("admin:channels_integration_apikey_changelist"),
                    {"action": "revoke", "_selected_action": [key.pk], "post": "yes"})
        assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_an_admin_revokes_after_confirming(client, admin_user_role, channel):
    key = ApiKey.objects.create(channel=channel, prefix="osk_y", secret_hash="y", scopes=["orders:read"])
    client.force_login(admin_user_role)
    url = reverse("admin:channels_integration_apikey_changelist")
    client.post(url, {"action": "revoke", "_selected_action": [key.pk]})
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    client.post(url, {"action": "revoke", "_selected_action": [key.pk], "post": "yes"})
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
