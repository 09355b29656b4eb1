"""Server settings for bench_orders: the test settings plus a bench-only URLconf (the baseline endpoint)."""

from ordersync.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.urls_orders"
DEBUG = False
# The benchmark measures the API, not the rate limiter's refusals.
API_THROTTLE_RATE = "100000000/min"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
