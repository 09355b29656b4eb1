"""The send step of a delivery: a claimed delivery in, an Outcome out. Never inside a transaction, never follows
redirects; runs on a send thread of the worker process (see sync.services.drain).

A webhook is one signed POST over the endpoint's kept-alive client (sync.egress); a handler endpoint calls its
registered function (sync.handlers) instead. Only a non-2xx answer leaves a short excerpt of its body on the
attempt: a 2xx body is read (so the connection can be reused) and dropped.
"""

import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from django.conf import settings
from django.utils import timezone

from sync import egress
from sync.handlers import HandlerResult, get_handler
from sync.models import Delivery, Endpoint, Event
from sync.signing import build_body, signed_headers

# Bytes read after the excerpt so the connection can be kept alive; a longer body closes the connection instead.
DRAIN_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Claim:
    delivery: Delivery  # as claimed, with its endpoint and event attached
    token: uuid.UUID  # the lease of the whole claimed batch
    attempt: int  # the number of this attempt, 1-based
    send_at: datetime | None = None  # the endpoint's rate-limit slot; None = at once

    @property
    def endpoint(self) -> Endpoint:
        return self.delivery.endpoint

    @property
    def event(self) -> Event:
        return self.delivery.event


@dataclass(frozen=True)
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    body: str = ""
    error: str = ""
    timed_out: bool = False
    retry_after: str | None = None
    # Set by handler endpoints, which may succeed without any HTTP status; webhooks succeed on 2xx only.
    succeeded: bool | None = None
    permanent: bool = False  # retrying cannot help: dead at once

    @property
    def ok(self) -> bool:
        if self.succeeded is not None:
            return self.succeeded
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def finished_at(self) -> float:
        return self.started_at.timestamp() + self.duration_ms / 1000


# Rate-limit slots are spaced for this share of the limit: the headroom absorbs the jitter between a send's start
# and its request reaching the receiver, so no one-second window there exceeds the limit.
RATE_HEADROOM = 0.98


def slot_interval(endpoint: Endpoint) -> float:
    return 1 / (endpoint.rate_limit * RATE_HEADROOM)


# Per endpoint: a lock the sends of this process take in turn, and when its last `rate_limit` sends began.
_pacers: dict[int, tuple[threading.Lock, deque]] = {}
_pacers_lock = threading.Lock()


def _wait_for_slot(claim: Claim) -> datetime:
    """Waits for the claim's rate-limit slot, and until no one-second window of this process's sends to the
    endpoint would hold more than its limit: a thread woken late may catch up, but never into a burst above it."""
    endpoint = claim.endpoint
    per_second = max(int(endpoint.rate_limit), 1)
    with _pacers_lock:
        lock, started = _pacers.setdefault(endpoint.pk, (threading.Lock(), deque()))
    with lock:
        at = claim.send_at.timestamp()
        if len(started) >= per_second:
            at = max(at, started[-per_second] + 1.0)
        wait = at - time.time()
        if wait > 0:
            time.sleep(wait)
        started.append(time.time())
        while len(started) > per_second:
            started.popleft()
        return datetime.fromtimestamp(started[-1], tz=UTC)  # the attempt's start, as the limiter counted it


def send(claim: Claim) -> Outcome:
    now = _wait_for_slot(claim) if claim.send_at is not None else timezone.now()
    if claim.endpoint.handler:
        return handler_run(claim, now=now)
    return webhook_post(claim, now=now)


def handler_run(claim: Claim, *, now: datetime) -> Outcome:
    """Runs the endpoint's registered handler (sync.handlers) in place of an HTTP request."""
    event, endpoint = claim.event, claim.endpoint
    started = time.monotonic()
    fn = get_handler(endpoint.handler)
    if fn is None:
        result = HandlerResult(ok=False, detail=f"no handler {endpoint.handler!r} is registered in this worker")
    else:
        try:
            result = fn(event=event, endpoint=endpoint, delivery=claim.delivery, attempt=claim.attempt)
        except Exception as exc:  # a failing handler is a failed attempt, retried like a 500
            result = HandlerResult(ok=False, detail=f"{type(exc).__name__}: {exc}")
    retry_after = None if result.retry_after is None else str(math.ceil(max(result.retry_after, 0)))
    return Outcome(
        started_at=now, duration_ms=int((time.monotonic() - started) * 1000), status_code=result.status_code,
        body=result.detail[: settings.SYNC_RESPONSE_BODY_LIMIT] if result.ok else "",
        error="" if result.ok else (result.detail or "handler failed"), retry_after=retry_after,
        succeeded=result.ok, permanent=result.permanent,
    )


def _excerpt_and_finish(response: httpx.Response, keep: bool) -> str:
    """Reads the answer: the first SYNC_RESPONSE_BODY_LIMIT characters when `keep`, the rest only up to
    DRAIN_BODY_LIMIT (then the connection is closed rather than drained)."""
    kept, read = b"", 0
    limit = settings.SYNC_RESPONSE_BODY_LIMIT
    for chunk in response.iter_bytes():
        if keep and len(kept) < limit:
            kept += chunk[: limit - len(kept)]
        read += len(chunk)
        if read > DRAIN_BODY_LIMIT:
            break
    return kept.decode("utf-8", errors="replace")[:limit]


def webhook_post(claim: Claim, *, now: datetime) -> Outcome:
    event, endpoint = claim.event, claim.endpoint
    body = build_body(topic=event.topic, payload=event.payload, sequence=event.sequence, order_id=event.order_id,
                      timestamp=event.created_at)
    headers = signed_headers(secret=endpoint.secret, message_id=str(event.pk), body=body, now=now)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with egress.client_for(endpoint).stream("POST", endpoint.url, content=body.encode(),
                                                headers=headers) as response:
            failed = not 200 <= response.status_code < 300
            excerpt = _excerpt_and_finish(response, keep=failed)
            return Outcome(started_at=now, duration_ms=elapsed(), status_code=response.status_code, body=excerpt,
                           retry_after=response.headers.get("Retry-After"))
    except httpx.TimeoutException as exc:
        return Outcome(started_at=now, duration_ms=elapsed(), error=f"timeout: {type(exc).__name__}: {exc}",
                       timed_out=True)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Outcome(started_at=now, duration_ms=elapsed(), error=f"{type(exc).__name__}: {exc}")
