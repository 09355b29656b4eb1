"""Issue 16 item 5 — SSRF through webhook URLs, with SYNC_ALLOW_PRIVATE_ENDPOINTS off as in production.

Every non-global range is refused when the endpoint is created (100.64.0.0/10 and IPv6 forms that embed a private
IPv4 address included); the address a delivery actually connects to is checked again, so a host whose DNS points
inside after creation (DNS rebinding) is refused at delivery time; and no byte of a 2xx answer is stored.
"""

import socket

import pytest
from django.core.exceptions import ValidationError

from sync.egress import address_allowed
from sync.models import Attempt, Delivery, Endpoint
from sync.services import delivery_attempt, endpoint_create
from tests.harness.celery_worker import wait_until
from tests.harness.http_server import Reply
from tests.sync.factories import make_endpoint, publish

PRODUCTION_WORKER = {
    "DJANGO_SETTINGS_MODULE": "ordersync.settings.production",
    "SECRET_KEY": "x" * 64,
    "SYNC_LEASE_MARGIN_SECONDS": "0.5",
    "SYNC_NUDGE_TTL_SECONDS": "2",
}

REFUSED = [
    "100.64.0.1", "100.127.255.254",  # carrier-grade NAT (shared address space)
    "2002:7f00::1", "2002:a00:1::", "2002:c0a8:101::",  # 6to4 forms of 127/8, 10/8, 192.168/16
    "::ffff:127.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped loopback and metadata service
    "64:ff9b::7f00:1", "::127.0.0.1",  # NAT64 and IPv4-compatible loopback
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "198.18.0.1",
    "224.0.0.1", "239.255.255.250", "ff02::1", "::1", "fe80::1", "fc00::1", "2001:db8::1", "::",
]
ALLOWED = ["93.184.216.34", "2606:4700:4700::1111", "2002:5db8:d822::1", "::ffff:93.184.216.34"]


@pytest.mark.parametrize("address", REFUSED)
def test_every_non_global_address_is_refused(address):
    assert not address_allowed(address)


@pytest.mark.parametrize("address", ALLOWED)
def test_global_addresses_and_forms_embedding_one_are_allowed(address):
    assert address_allowed(address)


def _url(address: str) -> str:
    return f"http://[{address}]/hook" if ":" in address else f"http://{address}/hook"


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["100.64.0.1", "2002:7f00::1", "2002:a00:1::", "64:ff9b::7f00:1"])
def test_endpoint_create_refuses_shared_and_embedded_private_addresses_in_production(settings, address):
    settings.SYNC_ALLOW_PRIVATE_ENDPOINTS = False
    with pytest.raises(ValidationError) as info:
        endpoint_create(name="probe", kind="payment", url=_url(address), topics=["*"])
    assert address in info.value.message_dict["url"][0]
    assert not Endpoint.objects.exists()


@pytest.fixture
def rebinding_dns(monkeypatch):
    """`rebind.example` resolves to a public address until `flip()`, then to loopback (an attacker's DNS)."""
    real = socket.getaddrinfo
    state = {"address": "93.184.216.34"}

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (state["address"], int(port)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    state["flip"] = lambda: state.update(address="127.0.0.1")
    return state


@pytest.mark.django_db
def test_dns_rebinding_after_creation_is_refused_when_the_delivery_connects(settings, http_server, rebinding_dns):
    settings.SYNC_ALLOW_PRIVATE_ENDPOINTS = False
    endpoint = endpoint_create(name="rebind", kind="payment", url=f"http://rebind.example:{http_server.port}/hook",
                               topics=["*"], retry_schedule=[0, 60]).endpoint  # public at creation: accepted
    rebinding_dns["flip"]()
    publish(order_id=1)

    assert delivery_attempt(delivery_id=Delivery.objects.get(endpoint=endpoint).pk) == "retry"
    attempt = Attempt.objects.get()
    assert "refused" in attempt.error and "127.0.0.1" in attempt.error and attempt.status_code is None
    assert http_server.requests == [], "nothing reached the internal service"


@pytest.mark.needs_broker
@pytest.mark.django_db(transaction=True)
def test_a_production_worker_refuses_an_endpoint_whose_host_now_resolves_to_loopback(http_server, celery_workers):
    # Created while it was allowed (as if its DNS pointed outside then); `localhost` is real DNS (/etc/hosts).
    endpoint, _ = make_endpoint(url=f"http://localhost:{http_server.port}/hook", retry_schedule=[0, 60])
    celery_workers.start(env=PRODUCTION_WORKER)
    publish(order_id=1)
    attempt = wait_until(lambda: Attempt.objects.filter(delivery__endpoint=endpoint).first(), timeout=30,
                         message="the refused attempt")
    assert "refused" in attempt.error and "non-global" in attempt.error
    assert Delivery.objects.get().state == "pending"
    assert http_server.requests == []


@pytest.mark.django_db
def test_only_a_short_excerpt_of_a_non_2xx_answer_is_stored(http_server):
    make_endpoint(url=http_server.url("/ok"), retry_schedule=[0, 60])
    make_endpoint(url=http_server.url("/fail"), retry_schedule=[0, 60])
    http_server.respond(Reply(status=200, body=b'{"internal": "' + b"s" * 3000 + b'"}'), path="/ok")
    http_server.respond(Reply(status=500, body=b"E" * 10_000), path="/fail")
    publish(order_id=1)
    assert sorted(delivery_attempt(delivery_id=d.pk) for d in Delivery.objects.all()) == ["retry", "succeeded"]

    ok = Attempt.objects.get(status_code=200)
    failed = Attempt.objects.get(status_code=500)
    assert ok.response_body == "", "nothing of a 2xx body is kept"
    assert failed.response_body == "E" * 256
