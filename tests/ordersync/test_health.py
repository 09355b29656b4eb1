import pytest

from ordersync.celery import app as celery_app


def test_healthz_answers_while_the_process_lives(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.needs_broker
@pytest.mark.django_db
def test_readyz_is_ready_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_unreachable(client, monkeypatch):
    # Celery prefers the environment variable over its configured value, so both must point nowhere. The
    # configured value is patched first so that undoing it restores the real URL, not the environment's.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["code"] == "not_ready"
    assert "broker" in body["detail"]


def test_readyz_names_the_database_when_it_is_unreachable(run_manage):
    script = (
        "from django.test import Client; r = Client(HTTP_HOST='localhost').get('/readyz'); "
        "print(r.status_code, r.json()['failing'])"
    )
    result = run_manage("shell", "--no-imports", "-c", script, env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere"})
    assert result.returncode == 0, result.stderr
    assert "503 ['database']" in result.stdout
