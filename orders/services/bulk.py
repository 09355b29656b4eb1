"""Bulk ingest: up to 500 orders in one transaction, each answered as `order_ingest` would answer it alone.

New orders are written with one statement per table (orders, lines, audit rows) and one batched stock
reservation (`stock_reserve_many`, each order all or nothing); only the outbox events are per order. All of
it happens in one savepoint, in the lock order of single ingest: order rows (unique index entries, in
external id order) first, stock levels (in pk order) last, so the hot stock rows stay locked only from the
reservation to the commit. The audit rows and events, written before, follow a prediction of the stock
answers from an unlocked read (`stock_preview_many`). Whatever goes wrong is answered by rolling the
savepoint back and writing again, never by taking locks in another order:

- stock moved between the prediction and the reservation: written again reserving first (exact, with the
  locks held a little longer);

- orders the channel refuses (unknown SKU, or short of stock with the reject policy) get their error and
  are left out; a later item with the same external id takes the refused one's place;
- a unique-constraint clash means another request stored that external id meanwhile: it is looked up and
  the items that carry it are answered against it, as replays or 409s.
"""

from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction

from compliance.screening import compliance_screen_many
from inventory.selectors import sku_refusals, stock_preview_many
from inventory.services import InsufficientStock, LineRequest, OrderStock, UnknownSku, stock_reserve_many
from orders.actors import Actor
from orders.models import Order, OrderLine, OrderStatusChange
from orders.services.common import status_change_row
from orders.services.ingest import (
    IngestResult,
    build_order,
    created_events,
    hold_for_review,
    hold_for_shortage,
    needs_price_review,
    order_data_clean,
    reservation_expiry,
    reservation_refusal,
)
from ordersync.api import ApiError
from sync.services import event_publish_many

BULK_MAX_ORDERS = 500


@dataclass
class BulkItemResult:
    index: int
    result: IngestResult | None = None
    error: ApiError | None = None


@dataclass
class _Entry:
    item: BulkItemResult
    data: dict

    @property
    def external_id(self) -> str:
        return self.data["external_id"]

    @property
    def body_hash(self) -> str:
        return self.data["body_hash"]


class _Refused(Exception):
    """Some orders were refused after their rows were written: roll the attempt back, retry without them."""


class _Mispredicted(Exception):
    """Stock moved between the unlocked read and the reservation: roll back, retry reserving first."""


def order_ingest_bulk(*, channel, items: list[dict], actor: Actor) -> list[BulkItemResult]:
    """Ingests each item as `order_ingest` would; replays and duplicates are resolved with one lookup."""
    if len(items) > BULK_MAX_ORDERS:
        raise ApiError(f"orders: at most {BULK_MAX_ORDERS} orders per request.", code="too_many_orders")
    results = [BulkItemResult(index=index) for index in range(len(items))]
    # Per external id, its items in request order: the first one not refused creates the order.
    queues: dict[str, list[_Entry]] = {}
    for item, data in zip(results, items, strict=True):
        try:
            data = order_data_clean(data, channel=channel)
        except ApiError as exc:
            item.error = exc
            continue
        entry = _Entry(item, data)
        queues.setdefault(entry.external_id, []).append(entry)
    existing = _stored(channel, queues)
    with transaction.atomic():
        _create(channel=channel, queues=queues, existing=existing, actor=actor)
    for external_id, queue in queues.items():
        for entry in queue:
            if entry.item.result is None and entry.item.error is None:
                _answer_known(entry, existing[external_id])
    return results


def _stored(channel, external_ids) -> dict[str, Order]:
    return {
        o.external_id: o
        for o in Order.objects.select_related("channel").filter(channel=channel, external_id__in=list(external_ids))
    }


def _answer_known(entry: _Entry, order: Order) -> None:
    if order.body_hash != entry.body_hash:
        entry.item.error = ApiError(
            f"Order {entry.external_id!r} was already received with a different body.",
            code="duplicate_external_id", status_code=409, extra={"order_id": order.pk},
        )
    else:
        entry.item.result = IngestResult(order=order, created=False)


def _create(*, channel, queues: dict[str, list[_Entry]], existing: dict[str, Order], actor: Actor) -> None:
    """Writes the new orders, rewriting after a refusal or a clash (see the module docstring)."""
    stock_first = False
    while True:
        todo = sorted((queue[0] for external_id, queue in queues.items() if queue and external_id not in existing),
                      key=lambda entry: entry.item.index)
        try:
            with transaction.atomic():
                created = _write(channel=channel, todo=todo, actor=actor, stock_first=stock_first)
        except _Mispredicted:
            stock_first = True
            continue
        except _Refused as exc:
            for entry in exc.args[0]:
                queues[entry.external_id].remove(entry)
            continue
        except IntegrityError:
            stored = _stored(channel, [entry.external_id for entry in todo])
            if not stored:
                raise
            existing.update(stored)
            continue
        for entry, (order, lines) in zip(todo, created, strict=True):
            entry.item.result = IngestResult(order=order, created=True, lines=lines)
            existing[entry.external_id] = order
        return


def _outcome_shape(outcomes: dict) -> dict:
    """What the answers depend on: per order, reserved, or which error with which SKUs and numbers."""
    return {
        order_id: None if isinstance(outcome, list) else (outcome.code, getattr(outcome, "shortages", outcome.detail))
        for order_id, outcome in outcomes.items()
    }


def _write(*, channel, todo: list[_Entry], actor: Actor, stock_first: bool) -> list[tuple[Order, list[OrderLine]]]:
    """Writes the orders of `todo`. Unless `stock_first`, the stock answers are predicted from an unlocked read,
    the audit rows and events follow the prediction, and the stock-level locks are taken last, so they are held
    only until the commit; if the real answers differ, _Mispredicted rolls the attempt back."""
    built = [build_order(channel=channel, data=entry.data) for entry in todo]
    if not built:
        return []
    # Unique-index entries taken in external id order: two bulk requests sharing ids cannot deadlock.
    Order.objects.bulk_create(sorted((order for order, _lines in built), key=lambda o: o.external_id))
    for order, lines in built:
        for line in lines:
            line.order = order
    OrderLine.objects.bulk_create([line for _order, lines in built for line in lines])
    expires_at = reservation_expiry(channel)
    held = compliance_screen_many(built=built)
    # Zero-price orders and those failing a compliance rule are held and reserve nothing, as in single ingest;
    # their SKUs are still checked.
    review = {order.pk: {ln.sku for ln in lines} for order, lines in built
              if order.pk in held or needs_price_review(order)}
    requests = [
        OrderStock(order_id=order.pk, expires_at=expires_at,
                   lines=[LineRequest(line_id=ln.pk, sku_code=ln.sku, quantity=ln.quantity) for ln in lines])
        for order, lines in built if order.pk not in review
    ]
    reserve = partial(stock_reserve_many, orders=requests, actor=actor.label, channel_id=channel.pk)
    outcomes = reserve() if stock_first else stock_preview_many(orders=requests, channel_id=channel.pk)
    outcomes.update(sku_refusals(orders=review, channel_id=channel.pk))
    refused, changes = [], []
    for entry, (order, _lines) in zip(todo, built, strict=True):
        changes.append(status_change_row(order=order, from_status="", transition="create", actor=actor))
        if order.pk in review and order.pk not in outcomes:
            changes += held.get(order.pk) or [hold_for_review(order=order)]
            continue
        outcome = outcomes[order.pk]
        if not isinstance(outcome, UnknownSku | InsufficientStock):
            continue
        refusal = reservation_refusal(channel=channel, exc=outcome)
        if refusal is not None:
            entry.item.error = refusal
            refused.append(entry)
        else:
            changes.append(hold_for_shortage(order=order, exc=outcome))
    if refused:
        raise _Refused(refused)
    OrderStatusChange.objects.bulk_create(changes)
    event_publish_many(events=[
        spec for order, lines in built for spec in created_events(order=order, lines=lines, actor=actor)
    ])
    if not stock_first and _outcome_shape(reserve()) != _outcome_shape(
        {order_id: outcome for order_id, outcome in outcomes.items() if order_id not in review}
    ):
        raise _Mispredicted
    return built
