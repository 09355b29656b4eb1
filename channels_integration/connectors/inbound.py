"""Inbound messages: stored raw once per delivery, processed in a task, swept when a task went missing.

Processing one message is one transaction: the message row, then its channel order's row are locked (that order
everywhere), the adapter's canonical order is applied through the order services, and the message records what
happened. A message whose processing raised leaves no partial order behind, only its error.
"""

import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from rest_framework.exceptions import APIException

from channels_integration.connectors.adapters import ADAPTERS
from channels_integration.connectors.ordering import (
    ChannelConflict,
    Waiting,
    converge_plan,
    kind_name,
    order_converge,
    order_create,
)
from channels_integration.connectors.payload import ChannelOrder as CanonicalOrder
from channels_integration.connectors.payload import ChannelState, Identity, PayloadError
from channels_integration.models import Channel, ChannelOrder, InboundMessage
from inventory.errors import InventoryError
from orders.actors import Actor
from orders.fsm import Status
from orders.models import Order
from ordersync.api import ApiError
from ordersync.parsers import json_loads_strict
from ordersync.sql import db_table

log = logging.getLogger(__name__)

PROCESS_TASK = "channels.inbound_process"
QUEUE = "channel"
State = InboundMessage.State
# Messages whose apply may be tried again: an operator's re-process puts them back to received.
REPROCESSABLE = (State.FAILED, State.IGNORED, State.DEFERRED)


class Retry(Exception):
    """A passing clash (another change holds the order's lock): processed again shortly."""


@dataclass(frozen=True)
class Outcome:
    state: str
    error: str = ""
    order: Order | None = None


def payload_parse(body: bytes) -> tuple[object, str]:
    """The channel's JSON (money as Decimal) and "", or None and why it is not JSON we take: the API's strict
    rules (no duplicate keys, NUL or absurd depth) apply to webhooks too."""
    try:
        return json_loads_strict(body, parse_float=Decimal), ""
    except APIException as exc:
        return None, f"malformed JSON: {exc.detail}"


def enqueue(message_ids: list[int], *, countdown: float | None = None) -> None:
    """Best effort: a message whose task is lost stays `received` and the sweeper sends it again."""
    for pk in message_ids:
        try:
            current_app.send_task(PROCESS_TASK, args=[pk], queue=QUEUE, countdown=countdown)
        except Exception:  # a broker outage must not fail the webhook that is already stored
            log.warning("could not queue inbound message %s; the sweeper will", pk, exc_info=True)


def inbound_receive(*, channel: Channel, identity: Identity, headers: dict, body: bytes,
                    parse_error: str = "") -> InboundMessage | None:
    """Stores the message once per delivery identity and queues it; None when it is a replay.

    A body that does not parse is stored as failed with the parse error and not queued.
    """
    now = timezone.now()
    message = InboundMessage(
        channel=channel, topic=identity.topic[:100], dedupe_key=identity.dedupe_key, event_id=identity.event_id,
        triggered_at=identity.triggered_at, external_id=identity.external_id, headers=headers, body=body,
        state=State.FAILED if parse_error else State.RECEIVED, error=parse_error,
        queued_at=None if parse_error else now, processed_at=now if parse_error else None,
    )
    try:
        with transaction.atomic():
            message.save()
            if not parse_error:
                transaction.on_commit(functools.partial(enqueue, [message.pk]))
    except IntegrityError:
        if InboundMessage.objects.filter(channel=channel, dedupe_key=identity.dedupe_key).exists():
            return None
        raise
    return message


def _channel_order(channel: Channel, external_id: str) -> tuple[ChannelOrder, bool]:
    """The locked per-order row, created on first sight (one statement); returns (row, just created).

    Every path locks the message, then this row, then the order.
    """
    table = db_table(ChannelOrder)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (channel_id, external_id, waiting, updated_at) VALUES (%s, %s, false, %s) "
            "ON CONFLICT (channel_id, external_id) DO UPDATE SET updated_at = EXCLUDED.updated_at "
            "RETURNING id, source_updated_at, waiting, xmax = 0",
            [channel.pk, external_id, timezone.now()],
        )
        pk, source_updated_at, waiting, inserted = cursor.fetchone()
    row = ChannelOrder(pk=pk, channel=channel, external_id=external_id, source_updated_at=source_updated_at,
                       waiting=waiting)
    return row, inserted


def _find_order(channel: Channel, external_id: str) -> Order | None:
    return Order.objects.select_related("channel").filter(channel=channel, external_id=external_id).first()


def _converge(order: Order, state: ChannelState, channel: Channel, created: bool) -> Outcome | list[str]:
    """Runs the transitions in their own savepoint so a refusal keeps an order this message just created."""
    try:
        steps = converge_plan(order, state, channel)
        if not steps:
            return []
        with transaction.atomic():
            return order_converge(order=order, steps=steps, actor=Actor.for_channel(channel))
    except Waiting as exc:
        return Outcome(State.DEFERRED, str(exc), order)
    except (ApiError, ChannelConflict) as exc:
        if isinstance(exc, ApiError) and exc.code == "conflict":
            raise Retry(str(exc.detail)) from exc
        done = f"created {order.number}, but " if created else ""
        detail = exc.detail if isinstance(exc, ApiError) else exc
        return Outcome(State.FAILED, f"{done}could not follow {kind_name(channel)}: {detail}", order)


def _wait_for_order(row: ChannelOrder, reason: str) -> Outcome:
    if not row.waiting:
        ChannelOrder.objects.filter(pk=row.pk).update(waiting=True)
    return Outcome(State.DEFERRED, reason)


def _wake_deferred(message: InboundMessage, row: ChannelOrder) -> None:
    """Messages that waited for this order (a paid before its create) are processed now that it exists."""
    if not row.waiting:
        return
    ChannelOrder.objects.filter(pk=row.pk).update(waiting=False)
    waiting = list(
        InboundMessage.objects.filter(channel=message.channel, external_id=message.external_id,
                                      state=State.DEFERRED).exclude(pk=message.pk).values_list("pk", flat=True)
    )
    if waiting:
        InboundMessage.objects.filter(pk__in=waiting).update(state=State.RECEIVED, queued_at=timezone.now())
        transaction.on_commit(functools.partial(enqueue, waiting))


def apply_order(message: InboundMessage, co: CanonicalOrder, *, may_create: bool) -> Outcome:
    channel = message.channel
    row, first_seen = _channel_order(channel, co.external_id)
    if row.source_updated_at and co.source_updated_at < row.source_updated_at:
        return Outcome(State.IGNORED, f"stale: {kind_name(channel)} updated_at {co.source_updated_at.isoformat()} "
                                      f"is older than {row.source_updated_at.isoformat()}, already applied",
                       _find_order(channel, co.external_id))
    # A channel order seen for the first time has no order yet (one made through the REST API with the same id
    # is refused by ingest as a duplicate external id, with that reason).
    order = None if first_seen else _find_order(channel, co.external_id)
    created = order is None
    if created:
        if not may_create:
            return _wait_for_order(row, f"{message.topic or 'this update'} arrived before the order was created; "
                                        "applied once it exists")
        order = order_create(channel=channel, co=co, actor=Actor.for_channel(channel))
        _wake_deferred(message, row)
    result = _converge(order, co.state, channel, created)
    if isinstance(result, Outcome):
        return result
    # Equal timestamps are applied (WooCommerce has one-second resolution); moving forward only keeps it safe.
    ChannelOrder.objects.filter(pk=row.pk).update(source_updated_at=co.source_updated_at)
    if created or result:
        return Outcome(State.PROCESSED, "", order)
    return Outcome(State.IGNORED, f"no change: the order is already {order.status}, as {kind_name(channel)} says",
                   order)


def apply_event(message: InboundMessage, external_id: str, state: ChannelState, *, what: str) -> Outcome:
    """A refund or a deletion: an event about the order, not a new state of it, so no timestamp applies."""
    channel = message.channel
    row, _first_seen = _channel_order(channel, external_id)
    order = _find_order(channel, external_id)
    if order is None:
        return _wait_for_order(row, f"{what} arrived before the order was created; applied once it exists")
    result = _converge(order, state, channel, created=False)
    if isinstance(result, Outcome):
        return result
    if result:
        return Outcome(State.PROCESSED, "", order)
    return Outcome(State.IGNORED, f"no change: the order is already {order.status}", order)


def _apply(message: InboundMessage) -> Outcome:
    adapter = ADAPTERS.get(message.channel.kind)
    if adapter is None:
        return Outcome(State.IGNORED, f"{message.channel.get_kind_display()} channels take no webhooks")
    payload, parse_error = payload_parse(bytes(message.body))
    if parse_error:
        return Outcome(State.FAILED, parse_error)
    topic = message.topic
    if message.source == InboundMessage.Source.RECONCILE or topic in adapter.ORDER_TOPICS:
        co = adapter.order_from(payload)
        message.external_id = co.external_id
        creates = message.source == InboundMessage.Source.RECONCILE or topic in adapter.CREATE_TOPICS
        return apply_order(message, co, may_create=creates)
    if topic in adapter.REFUND_TOPICS:
        refund = adapter.refund_from(payload)
        message.external_id = refund.external_id
        order = _find_order(message.channel, refund.external_id)
        if order is not None and refund.amount < order.total:
            return Outcome(State.IGNORED, f"partial refund of {refund.amount} of {order.total} {order.currency}: "
                                          f"OrderSync refunds whole orders; the order stays {order.status}", order)
        return apply_event(message, refund.external_id, ChannelState(paid=True, refunded=True, reason=refund.reason),
                           what="the refund")
    if topic in adapter.DELETE_TOPICS:
        message.external_id = adapter.deleted_from(payload)
        return apply_event(message, message.external_id,
                           ChannelState(cancelled=True, reason=f"deleted in {adapter.NAME}"), what="the deletion")
    handled = ", ".join(sorted(adapter.ORDER_TOPICS | adapter.REFUND_TOPICS | adapter.DELETE_TOPICS))
    return Outcome(State.IGNORED, f"topic {topic!r} is not handled here (handled: {handled})")


def inbound_process(*, message_id: int) -> str:
    """Applies one received message; idempotent (anything not `received` is left alone)."""
    with transaction.atomic():
        message = (InboundMessage.objects.select_for_update(of=("self",)).select_related("channel")
                   .filter(pk=message_id).first())
        if message is None or message.state != State.RECEIVED:
            return "not pending"
        message.attempts += 1
        try:
            with transaction.atomic():
                outcome = _apply(message)
        except Retry as exc:
            InboundMessage.objects.filter(pk=message.pk).update(attempts=message.attempts, error=str(exc))
            transaction.on_commit(functools.partial(enqueue, [message.pk], countdown=1.0))
            return "retry"
        except PayloadError as exc:
            outcome = Outcome(State.FAILED, f"missing or invalid field {exc}")
        except (ApiError, InventoryError) as exc:
            outcome = Outcome(State.FAILED, str(getattr(exc, "detail", exc)))
        except Exception as exc:  # a bug must not lose the message: it is kept as failed, with what went wrong
            log.exception("inbound message %s failed", message.pk)
            outcome = Outcome(State.FAILED, f"{type(exc).__name__}: {exc}")
        message.state, message.error, message.processed_at = outcome.state, outcome.error, timezone.now()
        if outcome.order is not None:
            message.order = outcome.order
        message.save(update_fields=["state", "error", "processed_at", "order", "attempts", "external_id"])
    return outcome.state


def inbound_reprocess(*, message_ids, user=None, send: bool = True) -> list[int]:
    """Puts failed, ignored or deferred messages back to received, recording who asked, and queues them (unless
    the caller processes them itself). Returns the ids that were reset."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(InboundMessage.objects.select_for_update().filter(pk__in=list(message_ids),
                                                                      state__in=REPROCESSABLE)
                   .order_by("pk").values_list("pk", flat=True))
        InboundMessage.objects.filter(pk__in=ids).update(state=State.RECEIVED, queued_at=now, reprocessed_at=now,
                                                          reprocessed_by=user)
        if send and ids:
            transaction.on_commit(functools.partial(enqueue, ids))
    return ids


def inbound_sweep(*, limit: int = 500) -> int:
    """Re-queues messages whose task never ran, and deferred ones whose order now exists or left its hold."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CHANNELS_INBOUND_REQUEUE_SECONDS)
    order_moved = Order.objects.filter(channel=OuterRef("channel_id"), external_id=OuterRef("external_id"),
                                       updated_at__gt=OuterRef("processed_at")).exclude(status=Status.ON_HOLD)
    with transaction.atomic():
        ids = list(
            InboundMessage.objects.select_for_update(skip_locked=True)
            .filter(Q(state=State.RECEIVED, queued_at__lt=stale) | Q(state=State.RECEIVED, queued_at=None)
                    | Q(Exists(order_moved), state=State.DEFERRED))
            .order_by("pk").values_list("pk", flat=True)[:limit]
        )
        if ids:
            InboundMessage.objects.filter(pk__in=ids).update(state=State.RECEIVED, queued_at=now)
            transaction.on_commit(functools.partial(enqueue, ids))
    return len(ids)
