"""Bulk ingest: up to 500 orders in one transaction, each answered as `order_ingest` would answer it alone.

New orders are written a wave at a time with one statement per table (orders, lines, audit rows) and one
batched stock reservation (`stock_reserve_many`, each order all or nothing); only the outbox events are
per order. The order rows go in before the stock is locked, the same lock order as single ingest. A wave
whose orders the channel refuses (unknown SKU, or short of stock with the reject policy) is rolled back to
its savepoint and written again without them, so a refused order leaves nothing behind. If the wave hits a
unique constraint (the same external id sent concurrently by another request), it is rolled back and its
orders are ingested one by one, each in its own savepoint, which answers them as replays.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.services import InsufficientStock, LineRequest, OrderStock, UnknownSku, stock_reserve_many
from orders.actors import Actor
from orders.models import Order, OrderLine, OrderStatusChange
from orders.services.common import status_change_row
from orders.services.ingest import (
    IngestResult,
    build_order,
    create_order,
    hold_for_shortage,
    order_body_hash,
    order_data_clean,
    publish_created,
    reservation_refusal,
)
from ordersync.api import ApiError

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
    body_hash: str

    @property
    def external_id(self) -> str:
        return self.data["external_id"]


class _Refused(Exception):
    """Some orders of the wave were refused after its rows were written: roll the wave back, retry without."""


def order_ingest_bulk(*, channel, items: list[dict], actor: Actor) -> list[BulkItemResult]:
    """Ingests each item as `order_ingest` would; replays and duplicates are resolved with one lookup."""
    if len(items) > BULK_MAX_ORDERS:
        raise ApiError(f"orders: at most {BULK_MAX_ORDERS} orders per request.", code="too_many_orders")
    results = [BulkItemResult(index=index) for index in range(len(items))]
    pending: list[_Entry] = []
    for item, data in zip(results, items, strict=True):
        try:
            data = order_data_clean(data)
        except ApiError as exc:
            item.error = exc
            continue
        pending.append(_Entry(item, data, order_body_hash(data)))

    existing = {
        o.external_id: o
        for o in Order.objects.select_related("channel").filter(
            channel=channel, external_id__in={entry.external_id for entry in pending}
        )
    }
    with transaction.atomic():
        # A wave holds at most one item per external id; a later item with the same id is answered against
        # what the earlier one created, or tries again in the next wave if the earlier one was refused.
        while pending:
            wave, later, seen = [], [], set()
            for entry in pending:
                if entry.external_id in existing:
                    _answer_known(entry, existing[entry.external_id])
                elif entry.external_id in seen:
                    later.append(entry)
                else:
                    seen.add(entry.external_id)
                    wave.append(entry)
            try:
                _create_wave(channel=channel, wave=wave, actor=actor)
            except IntegrityError:
                _create_one_by_one(channel=channel, wave=wave, actor=actor)
            existing.update((e.external_id, e.item.result.order) for e in wave if e.item.result is not None)
            pending = later
    return results


def _answer_known(entry: _Entry, order: Order) -> None:
    if order.body_hash != entry.body_hash:
        entry.item.error = ApiError(
            f"Order {entry.external_id!r} was already received with a different body.",
            code="duplicate_external_id", status_code=409, extra={"order_id": order.pk},
        )
    else:
        entry.item.result = IngestResult(order=order, created=False)


def _create_wave(*, channel, wave: list[_Entry], actor: Actor) -> None:
    """Writes the wave's orders; refused ones get their error and are left out (see the module docstring)."""
    refused: set[int] = set()
    while True:
        todo = [entry for entry in wave if id(entry) not in refused]
        try:
            with transaction.atomic():
                created = _write(channel=channel, todo=todo, actor=actor)
        except _Refused as exc:
            refused.update(id(entry) for entry in exc.args[0])
            continue
        for entry, order in zip(todo, created, strict=True):
            entry.item.result = IngestResult(order=order, created=True)
        return


def _write(*, channel, todo: list[_Entry], actor: Actor) -> list[Order]:
    built = [build_order(channel=channel, data=entry.data, body_hash=entry.body_hash) for entry in todo]
    if not built:
        return []
    # Unique-index entries taken in external id order: two bulk requests sharing ids cannot deadlock.
    Order.objects.bulk_create(sorted((order for order, _lines in built), key=lambda o: o.external_id))
    for order, lines in built:
        for line in lines:
            line.order = order
    OrderLine.objects.bulk_create([line for _order, lines in built for line in lines])
    ttl = channel.reservation_ttl
    expires_at = timezone.now() + ttl if ttl else None
    outcomes = stock_reserve_many(
        orders=[
            OrderStock(order_id=order.pk, expires_at=expires_at,
                       lines=[LineRequest(line_id=ln.pk, sku_code=ln.sku, quantity=ln.quantity) for ln in lines])
            for order, lines in built
        ],
        actor=actor.label,
    )
    refused, changes = [], []
    for entry, (order, _lines) in zip(todo, built, strict=True):
        changes.append(status_change_row(order=order, from_status="", transition="create", actor=actor))
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
    for order, lines in built:
        publish_created(order=order, lines=lines, actor=actor)
    return [order for order, _lines in built]


def _create_one_by_one(*, channel, wave: list[_Entry], actor: Actor) -> None:
    """The careful path, each order in its own savepoint: a unique-constraint clash is a replay."""
    for entry in wave:
        entry.item.error = None
        try:
            with transaction.atomic():
                order = create_order(channel=channel, data=entry.data, body_hash=entry.body_hash, actor=actor)
        except ApiError as exc:
            entry.item.error = exc
            continue
        except IntegrityError:
            order = Order.objects.select_related("channel").get(channel=channel, external_id=entry.external_id)
            _answer_known(entry, order)
            continue
        entry.item.result = IngestResult(order=order, created=True)
