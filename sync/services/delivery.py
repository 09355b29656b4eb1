"""One delivery attempt: claim a lease (short transaction), POST outside any transaction, record the result.

A worker killed between claim and record leaves an in-flight delivery whose lease expires; the sweeper hands it
to another worker, which records the lost attempt and tries again. The lease token stops a worker that outlived
its lease from overwriting the new owner's result.
"""

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
from sync.models import Attempt, Delivery, Endpoint, Event, OperatorAlert
from sync.retry import parse_retry_after, retry_delay
from sync.services.endpoints import breaker_record, breaker_state, endpoint_disable
from sync.signing import build_body, signed_headers

OPEN_STATES = (Delivery.State.PENDING, Delivery.State.IN_FLIGHT, Delivery.State.DEAD)
# A claim waits this long at most for its rate-limit slot; later slots go back to the sweeper.
MAX_RATE_WAIT = 1.0


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: uuid.UUID
    endpoint: Endpoint
    event: Event
    wait: float  # seconds to hold back for the endpoint's rate limit


@dataclass(frozen=True)
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    body: str = ""
    error: str = ""
    timed_out: bool = False
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
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


def _release_lost_lease(delivery: Delivery, now: datetime) -> None:
    Attempt.objects.create(
        delivery=delivery, started_at=delivery.leased_at or now,
        duration_ms=int(((now - (delivery.leased_at or now)).total_seconds()) * 1000),
        error="worker lost: lease expired before a result was recorded",
    )
    delivery.state = Delivery.State.PENDING
    delivery.next_attempt_at = now
    delivery.last_error = "worker lost: lease expired"


def _decline(delivery: Delivery, reason: str, **changes) -> str:
    """The queued nudge is spent; clearing it lets the sweeper send a new one once the delivery can go."""
    changes.setdefault("nudge_expires_at", None)
    for name, value in changes.items():
        setattr(delivery, name, value)
    delivery.save()
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
        delivery = _locked(Delivery.objects.filter(pk=delivery_id)).first()
        if delivery is None:
            return "busy"
        lease_expired = (delivery.state == Delivery.State.IN_FLIGHT and delivery.lease_expires_at is not None
                         and delivery.lease_expires_at <= now)
        if lease_expired:
            _release_lost_lease(delivery, now)
        elif delivery.state != Delivery.State.PENDING:
            return f"not pending ({delivery.state})"
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return _decline(delivery, "not due")
        endpoint = Endpoint.objects.get(pk=delivery.endpoint_id)
        if not endpoint.active:
            return _decline(delivery, "endpoint disabled")
        breaker = breaker_state(endpoint, now=now)
        if breaker == "open":
            return _decline(delivery, "endpoint paused", next_attempt_at=endpoint.paused_until)
        if breaker == "half-open" and Delivery.objects.filter(
            endpoint=endpoint, state=Delivery.State.IN_FLIGHT, lease_expires_at__gt=now
        ).exists():
            return _decline(delivery, "probe in flight")
        if Delivery.objects.filter(pk=delivery.pk).filter(Exists(earlier_open_deliveries())).exists():
            return _decline(delivery, "waiting for an earlier event")
        wait = 0.0
        if endpoint.rate_limit:
            wait = _rate_slot(endpoint, now)
            if wait is None:
                return _decline(delivery, "rate limited", next_attempt_at=now + timedelta(seconds=MAX_RATE_WAIT))
        token = uuid.uuid4()
        lease = endpoint.connect_timeout + endpoint.read_timeout + settings.SYNC_LEASE_MARGIN + wait
        delivery.state = Delivery.State.IN_FLIGHT
        delivery.attempts += 1
        delivery.leased_at = now
        delivery.lease_expires_at = now + timedelta(seconds=lease)
        delivery.lease_token = token
        delivery.nudge_expires_at = None
        delivery.save()
        event = Event.objects.get(pk=delivery.event_id)
    return Claim(delivery_id=delivery.pk, token=token, endpoint=endpoint, event=event, wait=wait)


def _read_limited(response: requests.Response) -> str:
    limit = settings.SYNC_RESPONSE_BODY_LIMIT
    chunks, size = [], 0
    for chunk in response.iter_content(1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit].decode("utf-8", errors="replace")


def delivery_post(claim: Claim) -> Outcome:
    """The HTTP request itself; never inside a transaction, never follows redirects."""
    if claim.wait:
        time.sleep(claim.wait)
    event, endpoint = claim.event, claim.endpoint
    now = timezone.now()
    body = build_body(topic=event.topic, payload=event.payload, sequence=event.sequence, order_id=event.order_id,
                      timestamp=event.created_at)
    headers = signed_headers(secret=endpoint.secret, message_id=str(event.pk), body=body, now=now)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with requests.post(endpoint.url, data=body.encode(), headers=headers, allow_redirects=False, stream=True,
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


def delivery_record(*, claim: Claim, outcome: Outcome) -> str:
    now = timezone.now()
    endpoint = claim.endpoint
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=claim.delivery_id)
        Attempt.objects.create(
            delivery=delivery, started_at=outcome.started_at, duration_ms=outcome.duration_ms,
            status_code=outcome.status_code, response_body=outcome.body, error=outcome.error,
        )
        if delivery.state != Delivery.State.IN_FLIGHT or delivery.lease_token != claim.token:
            return "lease lost"
        delivery.endpoint = endpoint
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error or ("" if outcome.ok else f"HTTP {outcome.status_code}")
        if delivery.first_attempt_latency_ms is None:
            delivery.first_attempt_latency_ms = _ms(outcome.started_at, claim.event.created_at)
        delivery.lease_token = delivery.lease_expires_at = None
        if outcome.ok:
            delivery.state = Delivery.State.SUCCEEDED
            delivery.delivered_at = now
            delivery.end_to_end_latency_ms = _ms(now, claim.event.created_at)
            delivery.save()
            if endpoint.consecutive_failures or endpoint.paused_until:
                breaker_record(endpoint_id=endpoint.pk, success=True, now=now)
            nudge_successor(delivery, now)
            return "succeeded"
        if outcome.status_code == 410:
            endpoint_disable(endpoint_id=endpoint.pk, reason=f"answered 410 Gone to delivery {delivery.pk}")
            delivery.state = Delivery.State.PENDING
            delivery.next_attempt_at = now
            delivery.save()
            return "endpoint disabled"
        breaker_record(endpoint_id=endpoint.pk, success=False, now=now, error=delivery.last_error)
        delay = retry_delay(
            endpoint=endpoint, attempts=delivery.attempts,
            throttled=outcome.timed_out or outcome.status_code == 429,
            retry_after=parse_retry_after(outcome.retry_after, now=now),
        )
        if delay is None:
            delivery.state = Delivery.State.DEAD
            delivery.save()
            OperatorAlert.objects.create(
                kind=OperatorAlert.Kind.DELIVERY_DEAD, endpoint=endpoint, delivery=delivery,
                message=f"{claim.event.topic} {delivery.stream}#{delivery.sequence} failed {delivery.attempts} "
                        f"times; last: {delivery.last_error}",
            )
            return "dead"
        delivery.state = Delivery.State.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        if delay <= settings.SYNC_MAX_COUNTDOWN:
            delivery.nudge_expires_at = delivery.next_attempt_at + timedelta(seconds=settings.SYNC_NUDGE_TTL)
            nudge_on_commit(delivery.pk, endpoint.kind, countdown=delay)
        delivery.save()
        return "retry"


def delivery_attempt(*, delivery_id: int) -> str:
    claim = delivery_claim(delivery_id=delivery_id)
    if isinstance(claim, str):
        return claim
    return delivery_record(claim=claim, outcome=delivery_post(claim))
