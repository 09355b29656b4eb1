"""When to try again: the endpoint's schedule with jitter, Retry-After, and the floor after throttling."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings

MAX_RETRY_AFTER = 24 * 3600


def schedule_for(endpoint) -> list[float]:
    return [float(s) for s in (endpoint.retry_schedule or settings.SYNC_RETRY_SCHEDULE)]


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


def retry_delay(*, endpoint, attempts: int, throttled: bool, retry_after: float | None) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones, or None when the schedule is exhausted.

    Jitter (±SYNC_RETRY_JITTER) spreads retries of a burst that failed together; Retry-After and the
    throttling floor are lower bounds the jitter never undercuts.
    """
    schedule = schedule_for(endpoint)
    if attempts >= len(schedule):
        return None
    jitter = settings.SYNC_RETRY_JITTER
    delay = schedule[attempts] * random.uniform(1 - jitter, 1 + jitter)
    if throttled:
        delay = max(delay, float(settings.SYNC_MIN_BACKOFF_THROTTLED))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def breaker_pause(consecutive_failures: int) -> timedelta:
    """Doubles with each failed probe, capped, so a long outage is not hammered."""
    over = max(consecutive_failures - settings.SYNC_BREAKER_THRESHOLD, 0)
    seconds = min(settings.SYNC_BREAKER_PAUSE * (2 ** min(over, 20)), settings.SYNC_BREAKER_MAX_PAUSE)
    return timedelta(seconds=seconds)
