"""Security tests speak HTTP to a real server (pytest-django's live_server on a free port), as an attacker would."""

import pytest
import requests

from tests.factories import ApiKeyFactory, ChannelFactory


class LiveApi:
    """A requests session holding one API key; paths are relative to the live server."""

    def __init__(self, base_url: str, issued):
        self.base_url = base_url
        self.api_key = issued.api_key
        self.channel = issued.api_key.channel
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {issued.secret}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base_url + path, timeout=30, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def put(self, path: str, body, **kwargs):
        return self.request("PUT", path, json=body, **kwargs)

    def post(self, path: str, body, **kwargs):
        return self.request("POST", path, json=body, **kwargs)


@pytest.fixture
def live_api(live_server, transactional_db):
    """live_api(channel=…, scopes=[…]) -> a LiveApi; the key is issued through the service like any other."""
    sessions = []

    def make(*, channel=None, scopes=("orders:write", "orders:read", "inventory:read"), **key_options) -> LiveApi:
        issued = ApiKeyFactory.issue(channel=channel or ChannelFactory(), scopes=list(scopes), **key_options)
        api = LiveApi(live_server.url, issued)
        sessions.append(api.session)
        return api

    yield make
    for session in sessions:
        session.close()


def assert_error(response, status: int, code: str) -> dict:
    """The API's one error shape: JSON with a stable `code` and a readable `detail`."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:500]
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body
