"""Server settings for bench_orders: the bench (production) settings plus a bench-only URLconf (the baseline)."""

from bench.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_orders"
# The benchmark measures the API, not the rate limiter's refusals.
API_THROTTLE_RATE = "100000000/min"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
