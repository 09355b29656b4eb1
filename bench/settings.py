"""What production runs (ordersync.settings.production: DEBUG off, its middleware, static files, connection reuse),
with only what benchmarking on loopback needs. Every benchmark process and server uses this or a module deriving
from it; `bench.server.production_env()` is the environment that selects it for a subprocess."""

from bench.server import ensure_secret_key

ensure_secret_key()

from ordersync.settings.production import *  # noqa: E402, F403

SECURE_SSL_REDIRECT = False  # the load generator speaks plain HTTP to 127.0.0.1; there is no TLS proxy in front
SYNC_ALLOW_PRIVATE_ENDPOINTS = True  # the sync benchmark's receivers listen on 127.0.0.1
