from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse


def test_the_landing_page_links_console_docs_and_health(client, db):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    for name in ("admin:index", "api-docs", "healthz", "readyz"):
        assert f'href="{reverse(name)}"' in body


def _login(client, username, password):
    return client.post(reverse("admin:login"), {"username": username, "password": password,
                                                "next": reverse("admin:index")})


def test_password_guessing_locks_that_user_out_from_that_address(client, db):
    User.objects.create_superuser("boss", "boss@example.com", "right-password")
    User.objects.create_superuser("other", "other@example.com", "other-password")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "boss", "guess").status_code == 200  # the form again, with its error
    assert _login(client, "boss", "guess").status_code == 429
    locked = _login(client, "boss", "right-password")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not punished for boss's attempts.
    assert _login(client, "other", "other-password").status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, db):
    User.objects.create_superuser("boss", "boss@example.com", "right-password")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "boss", "guess")
    assert _login(client, "boss", "right-password").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "boss", "guess").status_code == 200
    assert _login(client, "boss", "right-password").status_code == 302


def test_an_admin_lifts_a_lockout_and_a_viewer_cannot(client, db, role_user):
    User.objects.create_superuser("boss", "boss@example.com", "right-password")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "boss", "guess")
    assert _login(client, "boss", "right-password").status_code == 429
    attempt = AccessAttempt.objects.get(username="boss")
    changelist = reverse("admin:axes_accessattempt_changelist")
    for role, left in (("viewer", 1), ("operator", 1), ("admin", 0)):
        client.force_login(role_user(role))
        client.post(changelist, {"action": "unlock", "_selected_action": [attempt.pk], "post": "yes"})
        assert AccessAttempt.objects.filter(username="boss").count() == left, role
    client.logout()
    assert _login(client, "boss", "right-password").status_code == 302
