"""Production over plain HTTP: probes answer where they are (no HTTPS redirect), everything else still redirects;
pages carry the Content-Security-Policy."""

import os
import secrets
import subprocess
import sys

import pytest
import requests

from tests.ordersync import servers

web_server = servers.web_server  # the fixture, shared with tests/ordersync


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """Production serves collected files (admin pages need the manifest), as after `collectstatic` on deploy."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "STATIC_ROOT": str(root), "DJANGO_SETTINGS_MODULE": "ordersync.settings.production",
           "SECRET_KEY": secrets.token_urlsafe(50)}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=servers.ROOT, env=env,
                   check=True, timeout=120)
    return root


@pytest.fixture
def production(web_server, collected_static):
    return web_server(settings="ordersync.settings.production", env={"STATIC_ROOT": str(collected_static)})


def test_probes_are_not_redirected_to_https_but_everything_else_is(production):
    for probe in ("/healthz", "/readyz"):
        response = requests.get(production.url(probe), timeout=30, allow_redirects=False)
        assert response.status_code == 200, (probe, response.status_code, response.headers.get("Location"))
    for path in ("/admin/", "/api/v1/orders/", "/healthz/", "/readyz/x"):
        response = requests.get(production.url(path), timeout=30, allow_redirects=False)
        assert response.status_code == 301, path
        assert response.headers["Location"] == f"https://127.0.0.1:{production.port}{path}"


def test_pages_carry_a_content_security_policy(production):
    behind_the_proxy = {"X-Forwarded-Proto": "https"}
    for path in ("/admin/login/", "/api/docs/", "/healthz"):
        response = requests.get(production.url(path), headers=behind_the_proxy, timeout=30, allow_redirects=False)
        assert response.status_code == 200, (path, response.status_code)
        policy = response.headers.get("Content-Security-Policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
        assert directives.get("script-src") == ["'self'"], (path, policy)
        assert directives.get("object-src") == ["'none'"], (path, policy)
        assert directives.get("frame-ancestors") == ["'none'"], (path, policy)
