import os

import psycopg
import pytest
from django.conf import settings
from kombu import Connection

from tests.factories import ApiKeyFactory, ChannelFactory

pytest_plugins = ["tests.harness.celery_worker", "tests.harness.http_server", "tests.harness.live_api"]


def _broker_error() -> str | None:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any transport error means unreachable
        return str(exc)
    return None


def _database_error() -> str | None:
    """Connects to the server's maintenance database: the test database does not exist yet."""
    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            dbname="postgres", host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
            password=db["PASSWORD"], connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


def _describe_database() -> str:
    db = settings.DATABASES["default"]
    return f"{db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or ''}:{db.get('PORT') or ''}/{db['NAME']}"


def pytest_report_header(config):
    return [f"ordersync database: {_describe_database()}", f"ordersync broker: {settings.CELERY_BROKER_URL}"]


def pytest_sessionstart(session):
    error = _database_error()
    if error:
        pytest.exit(
            f"Database unreachable ({_describe_database()}): {error}\n"
            "Start PostgreSQL on 127.0.0.1:5432 or point DATABASE_URL at one.",
            returncode=3,
        )
    error = _broker_error()
    if error:
        message = (
            f"Broker unreachable ({settings.CELERY_BROKER_URL}): {error}\n"
            "Start Redis on 127.0.0.1:6379 or point CELERY_BROKER_URL at one."
        )
        if os.environ.get("CI") == "true":
            pytest.exit(message, returncode=3)
        session.config.ordersync_broker_missing = message


def pytest_collection_modifyitems(config, items):
    missing = getattr(config, "ordersync_broker_missing", None)
    if not missing:
        return
    marker = pytest.mark.skip(reason=f"needs the broker: {missing.splitlines()[0]}")
    for item in items:
        if "needs_broker" in item.keywords:
            item.add_marker(marker)


@pytest.fixture
def channel(db):
    return ChannelFactory()


@pytest.fixture
def make_api_client(db):
    """Returns a DRF test client authenticated as a new key of `channel` with `scopes`."""
    from rest_framework.test import APIClient

    def make(*, channel=None, scopes=("orders:write", "orders:read", "inventory:read")):
        issued = ApiKeyFactory.issue(channel=channel or ChannelFactory(), scopes=list(scopes))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
        client.channel = issued.api_key.channel
        client.api_key = issued.api_key
        return client

    return make
