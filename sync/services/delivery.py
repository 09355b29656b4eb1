"""Claiming and recording batches of one endpoint's deliveries.

Claim (one short transaction): lock the endpoint row, which serialises the claims of one endpoint so that its
concurrency limit, rate limit and breaker probe hold across every worker; then ONE statement leases up to N due
deliveries that head their stream (`UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) … RETURNING`).
The sends happen outside any transaction (sync.send). Record (another short transaction): ONE statement (on
PostgreSQL; two on SQLite) inserts every attempt and updates every delivery, conditional on the batch's lease
token, so a worker that outlived its lease cannot overwrite the new owner's result. Alerts, a 410's disable and
the breaker add statements only when a batch holds such answers.

A worker killed between claim and record leaves in-flight deliveries whose lease expires; the sweeper takes them
back (recording the lost attempt) and the next drain sends them again: at-least-once, deduplicated by receivers.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from ordersync.sql import db_table
from sync.dispatch import drain_nudge_on_commit
from sync.models import Attempt, Delivery, Endpoint, Event, OperatorAlert
from sync.retry import parse_retry_after, retry_delay
from sync.send import Claim, Outcome, send, slot_interval
from sync.services.endpoints import breaker_record, breaker_state, endpoint_disable

OPEN_STATES = (Delivery.State.PENDING, Delivery.State.IN_FLIGHT, Delivery.State.DEAD)
# A claim reserves rate-limit slots at most this far ahead.
MAX_RATE_WAIT = 1.0
# A drain pacing a rate-limited endpoint claims its next batch this long before its last slot.
RATE_LEAD = 0.1
AT_LIMIT = "at its concurrency limit"
RESULT_FIELDS = ["state", "next_attempt_at", "lease_expires_at", "last_status_code", "last_error", "delivered_at",
                 "first_attempt_latency_ms", "end_to_end_latency_ms"]


@dataclass(frozen=True)
class Batch:
    endpoint: Endpoint  # as locked by the claim
    token: uuid.UUID
    claims: list[Claim]


@dataclass(frozen=True)
class Declined:
    reason: str
    # When a drain should look again; None when a record, the sweeper or an operator will wake it.
    wake_at: datetime | None = None


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


def _ms(later: datetime, earlier: datetime) -> int:
    return max(int((later - earlier).total_seconds() * 1000), 0)


def _locked_endpoint(endpoint_id: int, now: datetime) -> Endpoint | None:
    """The endpoint row, locked until the claim commits, with how many of its leases are live. The count is its own
    statement: under READ COMMITTED it then sees the leases of a claim that held the lock just before this one."""
    qn = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    rows = Endpoint.objects.raw(f"SELECT * FROM {qn(Endpoint._meta.db_table)} WHERE id = %s{lock}", [endpoint_id])
    endpoint = next(iter(rows), None)
    if endpoint is not None:
        endpoint.in_flight = Delivery.objects.filter(
            endpoint_id=endpoint_id, state=Delivery.State.IN_FLIGHT, lease_expires_at__gt=now).count()
    return endpoint


def _waiting_for_slots(endpoint: Endpoint, now: datetime) -> int:
    """Leased deliveries still waiting for a reserved rate-limit slot: they are not requests in flight, so they do
    not use the concurrency limit (a rate-limited backlog drains in batches of a second's slots, not of 16)."""
    if not endpoint.rate_limit or not endpoint.rate_slot_at or endpoint.rate_slot_at <= now:
        return 0
    ahead = int((endpoint.rate_slot_at - now).total_seconds() / slot_interval(endpoint))
    return min(ahead, endpoint.in_flight)


def _events(ids: set[uuid.UUID]) -> dict[uuid.UUID, Event]:
    # Raw, like the claim itself: compiling ORM queries costs more than running these on the hot path.
    table = db_table(Event)
    prep = Event._meta.pk.get_db_prep_value
    query = Event.objects.raw(f"SELECT * FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))})",
                              [prep(i, connection) for i in ids])
    return {event.pk: event for event in query}


def _claim_statement(limit: int, only: Sequence[int]) -> str:
    table = db_table(Delivery)
    columns = ", ".join(f"{table}.{connection.ops.quote_name(f.column)}" for f in Delivery._meta.concrete_fields)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    only_sql = f" AND d.id IN ({', '.join(['%s'] * len(only))})" if only else ""
    return (
        f"UPDATE {table} SET state = %s, attempts = {table}.attempts + 1, leased_at = %s, lease_expires_at = %s, "
        f"lease_token = %s FROM ("
        f" SELECT d.id FROM {table} d"
        f" WHERE d.endpoint_id = %s AND d.state = %s AND d.next_attempt_at <= %s{only_sql}"
        f" AND NOT EXISTS (SELECT 1 FROM {table} e WHERE e.endpoint_id = d.endpoint_id AND e.stream = d.stream"
        f"  AND e.sequence < d.sequence AND e.state IN (%s, %s, %s))"
        f" ORDER BY d.next_attempt_at, d.id LIMIT {int(limit)}{lock}"
        f") picked WHERE {table}.id = picked.id RETURNING {columns}"
    )


def _lease(endpoint: Endpoint, *, count: int, now: datetime, lease_seconds: float, only: Sequence[int]):
    adapt = connection.ops.adapt_datetimefield_value
    token = uuid.uuid4()
    params = [
        Delivery.State.IN_FLIGHT, adapt(now), adapt(now + timedelta(seconds=lease_seconds)),
        Delivery._meta.get_field("lease_token").get_db_prep_value(token, connection),
        endpoint.pk, Delivery.State.PENDING, adapt(now), *only, *OPEN_STATES,
    ]
    rows = list(Delivery.objects.raw(_claim_statement(count, only), params))
    rows.sort(key=lambda d: (d.next_attempt_at, d.pk))
    return token, rows


def _next_due(endpoint_id: int, now: datetime) -> datetime | None:
    """The soonest retry that will head its stream, if it is close enough to book a drain for it."""
    horizon = now + timedelta(seconds=settings.SYNC_MAX_COUNTDOWN)
    return (
        Delivery.objects.filter(endpoint_id=endpoint_id, state=Delivery.State.PENDING, next_attempt_at__gt=now,
                                next_attempt_at__lte=horizon)
        .exclude(Exists(earlier_open_deliveries())).aggregate(at=Min("next_attempt_at"))["at"]
    )


def deliveries_claim(*, endpoint_id: int, limit: int, delivery_ids: Sequence[int] = (),
                     own_in_flight: int = 0) -> Batch | Declined:
    """Leases up to `limit` due deliveries of the endpoint that head their stream (only `delivery_ids` if given),
    within its concurrency limit, rate limit and breaker; or says why none may go and when to look again.
    `own_in_flight`: how many of the endpoint's live leases are the caller's own sends still out."""
    now = timezone.now()
    with transaction.atomic():
        _fast_commit()
        endpoint = _locked_endpoint(endpoint_id, now)
        if endpoint is None or not endpoint.active:
            return Declined("endpoint disabled")
        breaker = breaker_state(endpoint, now=now)
        if breaker == "open":
            return Declined("endpoint paused", wake_at=endpoint.paused_until)
        count = min(limit, endpoint.max_concurrency - endpoint.in_flight + _waiting_for_slots(endpoint, now))
        if breaker == "half-open":
            if endpoint.in_flight:
                return Declined("probe in flight")
            count = 1
        if count <= 0:
            return Declined(AT_LIMIT)
        first_slot, interval = None, 0.0
        if endpoint.rate_limit:
            if endpoint.in_flight > own_in_flight:
                # One drain paces a rate-limited endpoint: a second one's sends would interleave with a late first
                # one's. The pacing drain claims again, or its last send nudges the endpoint once it is done.
                return Declined("rate limited: another drain is pacing it")
            first_slot = max(endpoint.rate_slot_at or now, now)
            room = MAX_RATE_WAIT - (first_slot - now).total_seconds()
            if room < 0:
                return Declined("rate limited", wake_at=first_slot - timedelta(seconds=MAX_RATE_WAIT))
            interval = slot_interval(endpoint)
            count = min(count, int(room / interval) + 1)
        lease_seconds = endpoint.connect_timeout + endpoint.read_timeout + settings.SYNC_LEASE_MARGIN + (
            (count - 1) * interval)
        token, rows = _lease(endpoint, count=count, now=now, lease_seconds=lease_seconds, only=delivery_ids)
        if not rows:
            return Declined("nothing due", wake_at=_next_due(endpoint_id, now))
        if first_slot is not None:
            endpoint.rate_slot_at = first_slot + timedelta(seconds=interval * len(rows))
            Endpoint.objects.filter(pk=endpoint.pk).update(rate_slot_at=endpoint.rate_slot_at)
    events = _events({row.event_id for row in rows})
    claims = []
    for i, row in enumerate(rows):
        row.endpoint, row.event = endpoint, events[row.event_id]
        send_at = None if first_slot is None else first_slot + timedelta(seconds=interval * i)
        claims.append(Claim(delivery=row, token=token, attempt=row.attempts, send_at=send_at))
    return Batch(endpoint=endpoint, token=token, claims=claims)


def _apply(claim: Claim, outcome: Outcome, now: datetime) -> str:
    """Sets the claimed delivery's next state from its outcome; returns what happened."""
    delivery, endpoint = claim.delivery, claim.endpoint
    created = claim.event.created_at
    delivery.lease_expires_at = None
    delivery.last_status_code = outcome.status_code
    if delivery.first_attempt_latency_ms is None:
        delivery.first_attempt_latency_ms = _ms(outcome.started_at, created)
    if outcome.ok:
        delivery.state, delivery.delivered_at, delivery.last_error = Delivery.State.SUCCEEDED, now, ""
        delivery.end_to_end_latency_ms = _ms(now, created)
        return "succeeded"
    delivery.last_error = outcome.error or f"HTTP {outcome.status_code}"
    if outcome.status_code == 410 and not endpoint.handler:
        delivery.state, delivery.next_attempt_at = Delivery.State.PENDING, now  # waits for the endpoint's return
        return "endpoint disabled"
    delay = None if outcome.permanent else retry_delay(
        endpoint=endpoint, attempts=claim.attempt, throttled=outcome.timed_out or outcome.status_code == 429,
        retry_after=parse_retry_after(outcome.retry_after, now=now),
    )
    if delay is None:
        delivery.state = Delivery.State.DEAD
        return "dead"
    delivery.state, delivery.next_attempt_at = Delivery.State.PENDING, now + timedelta(seconds=delay)
    return "retry"


def _consequences(batch: Batch, owned: list[tuple[Claim, Outcome, str]], now: datetime) -> None:
    endpoint = batch.endpoint
    OperatorAlert.objects.bulk_create(
        OperatorAlert(
            kind=OperatorAlert.Kind.DELIVERY_DEAD, endpoint=endpoint, delivery=claim.delivery,
            message=f"{claim.event.topic} {claim.delivery.stream}#{claim.delivery.sequence} failed "
                    f"{claim.attempt} times; last: {claim.delivery.last_error}",
        )
        for claim, _, happened in owned if happened == "dead"
    )
    gone = [claim for claim, _, happened in owned if happened == "endpoint disabled"]
    if gone:
        endpoint_disable(endpoint_id=endpoint.pk, reason=f"answered 410 Gone to delivery {gone[0].delivery.pk}")
    counted = sorted(((c, o) for c, o, happened in owned if happened != "endpoint disabled"),
                     key=lambda pair: pair[1].finished_at)
    failed = [c for c, o in counted if not o.ok]
    if failed or (counted and (endpoint.consecutive_failures or endpoint.paused_until)):
        breaker_record(endpoint_id=endpoint.pk, results=[o.ok for _, o in counted], now=now,
                       error=failed[-1].delivery.last_error if failed else "")


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd")  # PostgreSQL text (and jsonb) cannot hold NUL


def _record_statement() -> str:
    delivery = db_table(Delivery)
    attempt = db_table(Attempt)
    return (
        "WITH r AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, state text, "
        "next_attempt_at timestamptz, last_status_code integer, last_error text, delivered_at timestamptz, "
        "first_ms integer, e2e_ms integer, started_at timestamptz, duration_ms integer, status_code integer, "
        "body text, error text)), "
        f"moved AS (UPDATE {delivery} d SET state = r.state, next_attempt_at = r.next_attempt_at, "
        "lease_expires_at = NULL, last_status_code = r.last_status_code, last_error = r.last_error, "
        "delivered_at = r.delivered_at, first_attempt_latency_ms = r.first_ms, end_to_end_latency_ms = r.e2e_ms "
        "FROM r WHERE d.id = r.id AND d.state = %s AND d.lease_token = %s RETURNING d.id), "
        f"logged AS (INSERT INTO {attempt} (delivery_id, started_at, duration_ms, status_code, response_body, error) "
        "SELECT id, started_at, duration_ms, status_code, body, error FROM r) "
        "SELECT id FROM moved"
    )


def _record_postgresql(batch: Batch, results: Sequence[tuple[Claim, Outcome]]) -> set[int]:
    """Every attempt and every delivery's new state in ONE statement; returns the deliveries still owned."""
    def iso(value):
        return value.isoformat() if value else None

    rows = [
        {"id": c.delivery.pk, "state": c.delivery.state, "next_attempt_at": iso(c.delivery.next_attempt_at),
         "last_status_code": c.delivery.last_status_code, "last_error": _text(c.delivery.last_error),
         "delivered_at": iso(c.delivery.delivered_at), "first_ms": c.delivery.first_attempt_latency_ms,
         "e2e_ms": c.delivery.end_to_end_latency_ms, "started_at": iso(o.started_at),
         "duration_ms": o.duration_ms, "status_code": o.status_code, "body": _text(o.body), "error": _text(o.error)}
        for c, o in results
    ]
    with connection.cursor() as cursor:
        cursor.execute(_record_statement(), [json.dumps(rows), Delivery.State.IN_FLIGHT, batch.token])
        return {row[0] for row in cursor.fetchall()}


def _record_portable(batch: Batch, results: Sequence[tuple[Claim, Outcome]]) -> set[int]:
    """The same in two ORM statements, for SQLite (`make run`)."""
    Attempt.objects.bulk_create(
        Attempt(delivery_id=claim.delivery.pk, started_at=outcome.started_at, duration_ms=outcome.duration_ms,
                status_code=outcome.status_code, response_body=outcome.body, error=outcome.error)
        for claim, outcome in results
    )
    Delivery.objects.filter(state=Delivery.State.IN_FLIGHT, lease_token=batch.token).bulk_update(
        [claim.delivery for claim, _ in results], RESULT_FIELDS
    )
    # Rows the UPDATE moved keep the batch's token; a row taken back has none or the new owner's.
    return set(Delivery.objects.filter(pk__in=[c.delivery.pk for c, _ in results], lease_token=batch.token)
               .values_list("pk", flat=True))


def deliveries_record(*, batch: Batch, results: Sequence[tuple[Claim, Outcome]]) -> dict[int, str]:
    """Stores the attempts and moves each delivery on, unless its lease was taken back meanwhile (then the new
    owner's state stands and nothing else follows from this answer). Returns what happened per delivery id."""
    now = timezone.now()
    happened = {claim.delivery.pk: _apply(claim, outcome, now) for claim, outcome in results}
    with transaction.atomic():
        _fast_commit()
        record = _record_postgresql if connection.vendor == "postgresql" else _record_portable
        owned = record(batch, results)
        happened.update({pk: "lease lost" for pk in happened if pk not in owned})
        _consequences(batch, [(c, o, happened[c.delivery.pk]) for c, o in results
                              if happened[c.delivery.pk] != "lease lost"], now)
    return happened


def delivery_attempt(*, delivery_id: int) -> str:
    """One delivery claimed, sent and recorded in the calling thread (a batch of one); drains are the hot path.
    Returns what happened, or why it could not go now."""
    endpoint_id = Delivery.objects.filter(pk=delivery_id).values_list("endpoint_id", flat=True).first()
    if endpoint_id is None:
        return "no such delivery"
    batch = deliveries_claim(endpoint_id=endpoint_id, limit=1, delivery_ids=[delivery_id])
    if isinstance(batch, Declined):
        return batch.reason
    (claim,) = batch.claims
    happened = deliveries_record(batch=batch, results=[(claim, send(claim))])[delivery_id]
    if happened == "succeeded":  # the stream's next event may go now
        drain_nudge_on_commit(endpoint_id, batch.endpoint.kind)
    return happened
