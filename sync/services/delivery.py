"""One delivery attempt: claim a lease (short transaction), POST outside any transaction, record the result.

A worker killed between claim and record leaves an in-flight delivery whose lease expires; the sweeper hands it
to another worker, which records the lost attempt and tries again. The lease token stops a worker that outlived
its lease from overwriting the new owner's result.
"""

import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from sync.dispatch import nudge_on_commit
from sync.handlers import HandlerResult, get_handler
from sync.models import Attempt, Delivery, Endpoint, Event, OperatorAlert
from sync.retry import parse_retry_after, retry_delay
from sync.services.endpoints import breaker_record, breaker_state, endpoint_disable
from sync.signing import build_body, signed_headers

OPEN_STATES = (Delivery.State.PENDING, Delivery.State.IN_FLIGHT, Delivery.State.DEAD)
# A claim waits this long at most for its rate-limit slot; later slots go back to the sweeper.
MAX_RATE_WAIT = 1.0


@dataclass(frozen=True)
class Claim:
    delivery: Delivery  # as claimed, with its endpoint and event loaded
    token: uuid.UUID
    attempt: int  # the number of this attempt, 1-based
    wait: float  # seconds to hold back for the endpoint's rate limit

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


def earlier_open_deliveries():
    """Deliveries that must finish first: same endpoint and stream, lower sequence, not yet resolved."""
    return Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"), stream=OuterRef("stream"), sequence__lt=OuterRef("sequence"),
        state__in=OPEN_STATES,
    )


def _locked(queryset):
    if connection.features.has_select_for_update_of:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset.select_for_update(skip_locked=True)


def _fast_commit() -> None:
    """Claims and results may skip the WAL flush wait: a crash can lose only the last few milliseconds of them,
    which re-sends a delivery (at-least-once, deduplicated by the receiver) but never loses one. Publishing, in
    the caller's transaction, keeps full durability."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _lost_lease_attempt(delivery: Delivery, now: datetime) -> None:
    started = delivery.leased_at or now
    Attempt.objects.create(delivery=delivery, started_at=started, duration_ms=_ms(now, started),
                           error="worker lost: lease expired before a result was recorded")


def _decline(delivery: Delivery, reason: str, changes: dict, **more) -> str:
    """The queued nudge is spent; clearing it lets the sweeper send a new one once the delivery can go."""
    Delivery.objects.filter(pk=delivery.pk).update(nudge_expires_at=None, **{**changes, **more})
    return reason


def _rate_slot(endpoint: Endpoint, now: datetime) -> float | None:
    """Reserves the endpoint's next slot; returns the wait, or None when the slot is too far away."""
    locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    slot = max(locked.rate_slot_at or now, now)
    wait = (slot - now).total_seconds()
    if wait > MAX_RATE_WAIT:
        return None
    locked.rate_slot_at = slot + timedelta(seconds=1 / locked.rate_limit)
    locked.save(update_fields=["rate_slot_at"])
    return wait


def delivery_claim(*, delivery_id: int) -> Claim | str:
    """Leases the delivery if it may go now; otherwise returns why not (and leaves it to the sweeper)."""
    now = timezone.now()
    with transaction.atomic():
        _fast_commit()
        delivery = (
            _locked(Delivery.objects.filter(pk=delivery_id)).select_related("endpoint", "event")
            .annotate(blocked=Exists(earlier_open_deliveries())).first()
        )
        if delivery is None:
            return "busy"
        changes = {}
        if delivery.state == Delivery.State.IN_FLIGHT and delivery.lease_expires_at <= now:
            _lost_lease_attempt(delivery, now)
            changes = {"state": Delivery.State.PENDING, "next_attempt_at": now, "last_error": "worker lost"}
        elif delivery.state != Delivery.State.PENDING:
            return f"not pending ({delivery.state})"
        elif delivery.next_attempt_at and delivery.next_attempt_at > now:
            return _decline(delivery, "not due", changes)
        endpoint = delivery.endpoint
        if not endpoint.active:
            return _decline(delivery, "endpoint disabled", changes)
        breaker = breaker_state(endpoint, now=now)
        if breaker == "open":
            return _decline(delivery, "endpoint paused", changes, next_attempt_at=endpoint.paused_until)
        if breaker == "half-open" and Delivery.objects.filter(
            endpoint=endpoint, state=Delivery.State.IN_FLIGHT, lease_expires_at__gt=now
        ).exclude(pk=delivery.pk).exists():
            return _decline(delivery, "probe in flight", changes)
        if delivery.blocked:
            return _decline(delivery, "waiting for an earlier event", changes)
        wait = 0.0
        if endpoint.rate_limit:
            wait = _rate_slot(endpoint, now)
            if wait is None:
                return _decline(delivery, "rate limited", changes,
                                next_attempt_at=now + timedelta(seconds=MAX_RATE_WAIT))
        token = uuid.uuid4()
        lease = endpoint.connect_timeout + endpoint.read_timeout + settings.SYNC_LEASE_MARGIN + wait
        claimed = {
            "state": Delivery.State.IN_FLIGHT, "attempts": delivery.attempts + 1, "leased_at": now,
            "lease_expires_at": now + timedelta(seconds=lease), "lease_token": token, "nudge_expires_at": None,
        }
        if delivery.first_attempt_latency_ms is None:
            claimed["first_attempt_latency_ms"] = _ms(now + timedelta(seconds=wait), delivery.event.created_at)
        Delivery.objects.filter(pk=delivery.pk).update(**claimed)
    return Claim(delivery=delivery, token=token, attempt=delivery.attempts + 1, wait=wait)


def _read_limited(response: requests.Response) -> str:
    limit = settings.SYNC_RESPONSE_BODY_LIMIT
    chunks, size = [], 0
    for chunk in response.iter_content(1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit].decode("utf-8", errors="replace")


_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per worker thread: most deliveries go to a handful of hosts."""
    if getattr(_local, "session", None) is None:
        _local.session = requests.Session()
    return _local.session


def handler_run(claim: Claim) -> Outcome:
    """Runs the endpoint's registered handler (sync.handlers) in place of an HTTP request."""
    event, endpoint = claim.event, claim.endpoint
    now = timezone.now()
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


def delivery_post(claim: Claim) -> Outcome:
    """The HTTP request itself (or the endpoint's handler); never inside a transaction, never follows redirects."""
    if claim.wait:
        time.sleep(claim.wait)
    event, endpoint = claim.event, claim.endpoint
    if endpoint.handler:
        return handler_run(claim)
    now = timezone.now()
    body = build_body(topic=event.topic, payload=event.payload, sequence=event.sequence, order_id=event.order_id,
                      timestamp=event.created_at)
    headers = signed_headers(secret=endpoint.secret, message_id=str(event.pk), body=body, now=now)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with _session().post(endpoint.url, data=body.encode(), headers=headers, allow_redirects=False, stream=True,
                             timeout=(endpoint.connect_timeout, endpoint.read_timeout)) as response:
            text = _read_limited(response)
            return Outcome(started_at=now, duration_ms=elapsed(), status_code=response.status_code, body=text,
                           retry_after=response.headers.get("Retry-After"))
    except requests.Timeout as exc:
        return Outcome(started_at=now, duration_ms=elapsed(), error=f"timeout: {exc}", timed_out=True)
    except requests.RequestException as exc:
        return Outcome(started_at=now, duration_ms=elapsed(), error=f"{type(exc).__name__}: {exc}")


def _ms(later: datetime, earlier: datetime) -> int:
    return max(int((later - earlier).total_seconds() * 1000), 0)


def nudge_successor(delivery: Delivery, now: datetime) -> None:
    """The next event of the stream was waiting for this one; wake it without waiting for the sweeper."""
    successor = (
        Delivery.objects.filter(endpoint_id=delivery.endpoint_id, stream=delivery.stream,
                                sequence__gt=delivery.sequence, state__in=OPEN_STATES)
        .order_by("sequence").only("pk", "state", "next_attempt_at").first()
    )
    if successor and successor.state == Delivery.State.PENDING and successor.next_attempt_at <= now:
        nudge_on_commit(successor.pk, delivery.endpoint.kind)


def _failed(claim: Claim, outcome: Outcome, owned, now: datetime, error: str) -> str:
    endpoint, delivery = claim.endpoint, claim.delivery
    if outcome.status_code == 410 and not endpoint.handler:
        if not owned.update(state=Delivery.State.PENDING, next_attempt_at=now, lease_token=None,
                            lease_expires_at=None, last_status_code=410, last_error=error):
            return "lease lost"
        endpoint_disable(endpoint_id=endpoint.pk, reason=f"answered 410 Gone to delivery {delivery.pk}")
        return "endpoint disabled"
    delay = None if outcome.permanent else retry_delay(
        endpoint=endpoint, attempts=claim.attempt, throttled=outcome.timed_out or outcome.status_code == 429,
        retry_after=parse_retry_after(outcome.retry_after, now=now),
    )
    result = {"lease_token": None, "lease_expires_at": None, "last_status_code": outcome.status_code,
              "last_error": error}
    if delay is None:
        if not owned.update(state=Delivery.State.DEAD, **result):
            return "lease lost"
        OperatorAlert.objects.create(
            kind=OperatorAlert.Kind.DELIVERY_DEAD, endpoint=endpoint, delivery=delivery,
            message=f"{claim.event.topic} {delivery.stream}#{delivery.sequence} failed {claim.attempt} times; "
                    f"last: {error}",
        )
        outcome_name = "dead"
    else:
        next_at = now + timedelta(seconds=delay)
        short = delay <= settings.SYNC_MAX_COUNTDOWN
        nudge_until = next_at + timedelta(seconds=settings.SYNC_NUDGE_TTL) if short else None
        if not owned.update(state=Delivery.State.PENDING, next_attempt_at=next_at, nudge_expires_at=nudge_until,
                            **result):
            return "lease lost"
        if short:
            nudge_on_commit(delivery.pk, endpoint.kind, countdown=delay)
        outcome_name = "retry"
    breaker_record(endpoint_id=endpoint.pk, success=False, now=now, error=error)
    return outcome_name


def delivery_record(*, claim: Claim, outcome: Outcome) -> str:
    """Stores the attempt and moves the delivery on, unless its lease was taken over meanwhile."""
    now = timezone.now()
    endpoint, delivery = claim.endpoint, claim.delivery
    with transaction.atomic():
        _fast_commit()
        Attempt.objects.create(
            delivery=delivery, started_at=outcome.started_at, duration_ms=outcome.duration_ms,
            status_code=outcome.status_code, response_body=outcome.body, error=outcome.error,
        )
        owned = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.IN_FLIGHT, lease_token=claim.token)
        if not outcome.ok:
            return _failed(claim, outcome, owned, now, outcome.error or f"HTTP {outcome.status_code}")
        if not owned.update(state=Delivery.State.SUCCEEDED, delivered_at=now, lease_token=None,
                            lease_expires_at=None, last_status_code=outcome.status_code, last_error="",
                            end_to_end_latency_ms=_ms(now, claim.event.created_at)):
            return "lease lost"
        if endpoint.consecutive_failures or endpoint.paused_until:
            breaker_record(endpoint_id=endpoint.pk, success=True, now=now)
        nudge_successor(delivery, now)
        return "succeeded"


def delivery_attempt(*, delivery_id: int) -> str:
    claim = delivery_claim(delivery_id=delivery_id)
    if isinstance(claim, str):
        return claim
    return delivery_record(claim=claim, outcome=delivery_post(claim))
