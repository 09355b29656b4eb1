"""Where deliveries may connect, and the kept-alive HTTP client each endpoint's deliveries share in a process.

With SYNC_ALLOW_PRIVATE_ENDPOINTS off (production) only globally routable addresses are reachable. The check runs
when an endpoint is created and again on the address each connection actually opens to: the host is resolved once
per connection, every address it resolves to must be global, and the socket connects to that checked address. So a
host that re-points its DNS at an internal service after the endpoint was created (DNS rebinding) is refused at
delivery time, and the delivery fails like a refused connection.
"""

import functools
import ipaddress
import logging
import os
import socket
import threading

import httpcore
import httpx
from django.conf import settings

# httpx logs every request at INFO; each delivery already has its Attempt row, so only its warnings are kept.
logging.getLogger("httpx").setLevel(logging.WARNING)

# IPv6 forms that carry an IPv4 address a gateway may route to: NAT64 (RFC 6052) and the deprecated IPv4-compatible
# form. IPv4-mapped and 6to4 addresses have their own accessors.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_allowed(address: str) -> bool:
    """True for a globally routable unicast address; every private, shared (100.64.0.0/10), loopback, link-local,
    reserved, documentation or multicast range is refused, including IPv6 forms that embed such an IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if ip.version == 6:
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not address_allowed(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast


def refused_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to that deliveries may not reach (socket.gaierror when it does not resolve)."""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    return sorted(a for a in addresses if not address_allowed(a))


class _GlobalOnlyBackend(httpcore.SyncBackend):
    """Resolves, checks every address, then connects to a checked address itself (no second lookup)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"{host} does not resolve ({exc})") from exc
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        refused = [a for a in addresses if not address_allowed(a)]
        if refused:
            raise httpcore.ConnectError(
                f"refused: {host} resolves to a non-global address ({', '.join(refused)}); deliveries only go to "
                "globally routable addresses while SYNC_ALLOW_PRIVATE_ENDPOINTS is off"
            )
        error = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the host's next address, as create_connection would
                error = exc
        raise error


@functools.cache
def _ssl_context():
    """One CA bundle load per process, shared by every endpoint's client (loading it costs tens of ms)."""
    return httpx.create_ssl_context(trust_env=False)


class _Transport(httpx.HTTPTransport):
    def __init__(self, *, limits: httpx.Limits, global_only: bool):
        super().__init__(verify=_ssl_context(), limits=limits, trust_env=False)
        if global_only:
            # Same pool as HTTPTransport builds, with the checking backend; proxies from the environment are never
            # used (trust_env=False), so every connection goes through it.
            self._pool = httpcore.ConnectionPool(
                ssl_context=_ssl_context(),
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=_GlobalOnlyBackend(),
            )


_clients: dict[tuple, httpx.Client] = {}
_clients_lock = threading.Lock()


def client_for(endpoint) -> httpx.Client:
    """One client per endpoint (and its timeouts and limit) per process, shared by the send threads: connections
    stay alive between deliveries, at most `max_concurrency` of them. Keyed by pid so a forked worker child never
    inherits its parent's sockets."""
    global_only = not settings.SYNC_ALLOW_PRIVATE_ENDPOINTS
    key = (os.getpid(), endpoint.pk, endpoint.connect_timeout, endpoint.read_timeout, endpoint.max_concurrency,
           global_only)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                limits = httpx.Limits(max_connections=endpoint.max_concurrency,
                                      max_keepalive_connections=endpoint.max_concurrency)
                timeout = httpx.Timeout(connect=endpoint.connect_timeout, read=endpoint.read_timeout,
                                        write=endpoint.read_timeout, pool=endpoint.connect_timeout)
                client = httpx.Client(transport=_Transport(limits=limits, global_only=global_only), timeout=timeout,
                                      follow_redirects=False, trust_env=False)
                for stale in [k for k in _clients if k[:2] == key[:2]]:
                    # The endpoint's settings changed; a send still using the old client keeps its reference.
                    del _clients[stale]
                _clients[key] = client
    return client
