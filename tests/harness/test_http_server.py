"""The recording server answers as told; other suites rely on it."""

import pytest
import requests

from tests.harness.http_server import CLOSE, Hang


def test_default_per_path_and_sequenced_answers(http_server):
    http_server.respond(500, path="/a")
    http_server.respond_sequence("/b", [429, 503])
    assert requests.post(http_server.url("/a"), data=b"x").status_code == 500
    assert [requests.post(http_server.url("/b")).status_code for _ in range(3)] == [429, 503, 200]
    http_server.respond(429, headers={"Retry-After": "7"})
    answer = requests.post(http_server.url("/c"))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    assert [r.path for r in http_server.wait_for_requests(5)] == ["/a", "/b", "/b", "/b", "/c"]
    assert http_server.requests_for("/a")[0].body == b"x"


def test_hang_close_and_refused(http_server, refused_url):
    http_server.respond_sequence("/slow", [Hang(seconds=1)])
    with pytest.raises(requests.ReadTimeout):
        requests.post(http_server.url("/slow"), timeout=(1, 0.2))
    http_server.respond_sequence("/drop", [CLOSE])
    with pytest.raises(requests.ConnectionError):
        requests.post(http_server.url("/drop"))
    with pytest.raises(requests.ConnectionError):
        requests.post(refused_url, timeout=1)


def test_receiver_view_dedupes_on_webhook_id(http_server):
    for webhook_id in ["a", "b", "a", "c", "b"]:
        requests.post(http_server.url("/r"), headers={"webhook-id": webhook_id})
    assert [r.webhook_id for r in http_server.unique_by_webhook_id("/r")] == ["a", "b", "c"]


def test_on_request_callback_runs_before_the_answer(http_server):
    seen = []
    http_server.on_request(lambda request: seen.append(request.path))
    http_server.on_request(lambda request: http_server.respond_sequence("/x", [418]))
    assert requests.post(http_server.url("/x")).status_code == 418
    assert seen == ["/x"]


def test_body_cut_off_by_a_dying_client_is_not_a_delivery(http_server):
    import socket

    with socket.create_connection((http_server.host, http_server.port)) as sock:
        sock.sendall(b"POST /r HTTP/1.1\r\nHost: x\r\nwebhook-id: cut\r\nContent-Length: 100\r\n\r\n{\"type\"")
    (request,) = http_server.wait_for_requests(1)
    assert not request.complete
    assert http_server.unique_by_webhook_id("/r") == []
