"""The development error page (DEBUG) never shows a password inside a URL: the broker's is masked as the
database's is, in the settings list and in the request environment the development server exposes."""

import pytest
import requests

from tests.harness.celery_worker import test_database_url as url_of_the_test_database
from tests.ordersync import servers

web_server = servers.web_server  # the fixture, shared with tests/ordersync

BROKER_PASSWORD = "broker-pw-4f9a"
DATABASE_PASSWORD = "database-pw-7c21"


@pytest.mark.parametrize("command", [servers.RUNSERVER, None], ids=["runserver", "make-run-gunicorn"])
def test_the_debug_page_masks_the_broker_and_database_passwords(web_server, command):
    database_url = url_of_the_test_database().replace("postgres://postgres@", f"postgres://postgres:{DATABASE_PASSWORD}@")
    server = web_server(settings="ordersync.settings.dev", command=command, env={
        "DEBUG": "true",
        "CELERY_BROKER_URL": f"redis://:{BROKER_PASSWORD}@127.0.0.1:6379/4",
        "DATABASE_URL": database_url,
    })

    # A Host header the settings do not allow: with DEBUG on, Django answers with its technical error page.
    page = requests.get(server.url("/healthz"), headers={"Host": "attacker.example"}, timeout=30)

    assert page.status_code == 400
    assert "CELERY_BROKER_URL" in page.text, "not the settings page; the test would prove nothing"
    assert "redis://:********************@127.0.0.1:6379/4" in page.text
    assert BROKER_PASSWORD not in page.text
    assert DATABASE_PASSWORD not in page.text
