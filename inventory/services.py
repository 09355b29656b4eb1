"""Every stock write. Lock order, always: SKU/warehouse rows (only their upserts), the order's reservations,
the channel's allocations by pk, then stock levels by pk, then split-stock buckets by pk (inventory.buckets).

Taking locks in one global order is what makes these services deadlock-free against each other: two orders
that want the same SKUs in opposite line order still touch the stock-level rows in ascending pk order.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from inventory.buckets import buckets_gather, buckets_settle, buckets_spread, level_totals, reserve_in_bucket
from inventory.catalog import allocation_remove, allocation_set, sku_upsert, warehouse_upsert
from inventory.checks import check_actor, check_quantity
from inventory.errors import (
    BelowReserved,
    InsufficientStock,
    InvalidQuantity,
    InvalidSkuCode,
    InventoryError,
    UnknownSku,
    UnknownWarehouse,
)
from inventory.feed import level_update, levels_reserve, stock_feed_publish
from inventory.models import MAX_UNITS, ChannelAllocation, Reservation, Sku, StockLevel, StockMovement, Warehouse
from inventory.reserving import (
    SkuRow,
    allocate,
    lock_allocations,
    lock_candidates,
    plan_many,
    read_candidates,
    reserve_in_one_statement,
    unknown_to,
)
from inventory.selectors import sku_and_warehouse_get

__all__ = [
    "BelowReserved", "InsufficientStock", "InvalidQuantity", "InvalidSkuCode", "InventoryError", "LineRequest",
    "OrderStock", "UnknownSku", "UnknownWarehouse", "allocation_remove", "allocation_set", "sku_upsert",
    "stock_adjust", "stock_commit", "stock_feed_publish", "stock_receive", "stock_release",
    "stock_reservation_confirm", "stock_reserve", "stock_reserve_many", "warehouse_upsert",
]

Kind = StockMovement.Kind


@dataclass(frozen=True)
class LineRequest:
    line_id: int
    sku_code: str
    quantity: int


@dataclass(frozen=True)
class OrderStock:
    """One order's request to stock_reserve_many."""

    order_id: int
    lines: Sequence[LineRequest]
    expires_at: datetime | None = None


class _LostRace(Exception):
    """A conditional UPDATE matched no row: the unlocked plan was stale; retry with locks."""


def _insert_reserve_rows(rows, *, actor: str, channel_id: int | None, skus: dict[str, SkuRow]) -> list[Reservation]:
    """Reservation and ledger rows for [(order_id, line, level, qty, expires_at)], one INSERT each; a reservation
    of a SKU the channel has an allocation of carries that allocation (whose counter the caller raises)."""

    def allocation_id(line):
        allocation = skus[line.sku_code].allocation
        return allocation.pk if allocation is not None else None

    reservations = Reservation.objects.bulk_create(
        Reservation(order_id=order_id, order_line_id=line.line_id, stock_level_id=level.pk, quantity=qty,
                    expires_at=expires_at, channel_id=channel_id, allocation_id=allocation_id(line))
        for order_id, line, level, qty, expires_at in rows
    )
    StockMovement.objects.bulk_create(
        StockMovement(stock_level_id=level.pk, sku_id=level.sku_id, warehouse_id=level.warehouse_id, kind=Kind.RESERVE,
                      quantity=qty, on_hand_delta=0, reserved_delta=qty, actor=actor, order_id=order_id,
                      reference=f"order:{order_id} line:{line.line_id}")
        for order_id, line, level, qty, _expires_at in rows
    )
    return reservations


def _allocations_reserve(plan, skus: dict[str, SkuRow]) -> bool:
    """Adds the planned units to the channel's allocation counters in pk order, each only if its cap still allows
    (the condition is evaluated on the current row after waiting for its lock, so racers cannot pass the cap)."""
    per_allocation: dict[int, int] = defaultdict(int)
    for line, _level, qty in plan:
        allocation = skus[line.sku_code].allocation
        if allocation is not None:
            per_allocation[allocation.pk] += qty
    now = timezone.now()
    for pk in sorted(per_allocation):
        qty = per_allocation[pk]
        matched = ChannelAllocation.objects.filter(pk=pk).filter(
            Q(cap__isnull=True) | Q(cap__gte=F("reserved") + qty)
        ).update(reserved=F("reserved") + qty, updated_at=now)
        if not matched:
            return False
    return True


def _write_reservations(*, order_id, plan, expires_at, actor, channel_id, skus) -> list[Reservation]:
    """Inserts reservations and ledger rows, raises the channel's allocation counters, then bumps levels in pk
    order as the very last statements.

    The stock-level row locks are what every reserver of a hot SKU queues on; taking them last keeps them
    held only for the UPDATE and the commit.
    """
    reservations = _insert_reserve_rows([(order_id, line, level, qty, expires_at) for line, level, qty in plan],
                                        actor=actor, channel_id=channel_id, skus=skus)
    if not _allocations_reserve(plan, skus):
        raise _LostRace
    per_level: dict[int, int] = defaultdict(int)
    for _line, level, qty in plan:
        per_level[level.pk] += qty
    for level_pk in sorted(per_level):
        if not level_update(level_pk, reserved=per_level[level_pk], require_free=per_level[level_pk]):
            raise _LostRace
    return reservations


def stock_reserve(
    *, order_id: int, lines: Sequence[LineRequest], expires_at: datetime | None = None, actor: str,
    channel_id: int | None = None,
) -> list[Reservation]:
    """Reserves every line of an order or none; raises UnknownSku / InsufficientStock with nothing written.

    `channel_id` is the selling channel: SKUs restricted to other channels are unknown to it, and its allocation
    caps bound what it may hold (None: a system caller, no restriction and no cap).

    First try: plan from an unlocked read and apply it with conditional UPDATEs (never oversells: the
    condition is checked on the current row) — one statement when the plan needs one stock level and no
    allocation on PostgreSQL (inventory.reserving), else statement by statement in pk order. Only if an UPDATE
    loses a race is the plan redone under row locks taken in pk order, which gives the exact answer.
    Untracked SKUs get no reservation.
    """
    actor = check_actor(actor)
    for line in lines:
        check_quantity(line.quantity, field="quantity")
    if not lines:
        return []
    skus, levels = read_candidates({line.sku_code for line in lines}, channel_id)
    refusal = unknown_to(skus, {line.sku_code for line in lines})
    if refusal is not None:
        raise refusal
    tracked = [line for line in lines if skus[line.sku_code].track_inventory]
    if not tracked:
        return []
    sku_ids = sorted({skus[line.sku_code].pk for line in tracked})
    plan = allocate(tracked, skus, [level for level in levels if level.sku_id in sku_ids])
    write = partial(_write_reservations, order_id=order_id, expires_at=expires_at, actor=actor,
                    channel_id=channel_id)
    uncapped = all(skus[line.sku_code].allocation is None for line in tracked)
    if connection.vendor == "postgresql" and uncapped and len({level.pk for _line, level, _qty in plan}) == 1:
        one_statement = reserve_in_bucket if plan[0][1].buckets else reserve_in_one_statement
        reservations = one_statement(
            order_id=order_id, level=plan[0][1], items=[(line.line_id, qty) for line, _level, qty in plan],
            expires_at=expires_at, actor=actor, channel_id=channel_id,
        )
        if reservations is not None:
            return reservations
    else:
        try:
            # A transaction of its own at top level, a savepoint inside the caller's: either way a lost
            # race or a shortage rolls back everything this call wrote.
            with transaction.atomic():
                return write(plan=plan, skus=skus)
        except _LostRace:
            pass
    # Out-raced: plan again on locked rows. The conditional UPDATEs cannot miss now (_LostRace would be a bug).
    with transaction.atomic():
        skus = lock_allocations(skus, channel_id, sku_ids)
        levels = lock_candidates(sku_ids)
        plan = allocate(tracked, skus, levels)
        reservations = write(plan=plan, skus=skus)
        buckets_spread([level.pk for level in levels if level.buckets])
        return reservations


def stock_reserve_many(
    *, orders: Sequence[OrderStock], actor: str, channel_id: int | None = None
) -> dict[int, list[Reservation] | InventoryError]:
    """Reserves for many orders of one channel (bulk ingest), each all or nothing and in the given order of
    precedence; restrictions and caps as in stock_reserve.

    Returns {order_id: its reservations ([] when it has no tracked SKU), or the UnknownSku / InsufficientStock
    it got, with nothing written for it}. One SKU read, the candidate stock levels locked in pk order (the
    global lock order, after the channel's allocations), every order planned in turn on the locked numbers, then
    one INSERT for all reservations, one for the ledger and one conditional UPDATE of all levels. Planning on
    locked rows is
    exact, so unlike stock_reserve there is no optimistic first try to lose; the locks last until the
    caller commits.
    """
    actor = check_actor(actor)
    for order in orders:
        for line in order.lines:
            check_quantity(line.quantity, field="quantity")
    codes = {line.sku_code for order in orders for line in order.lines}
    if not codes:
        return {order.order_id: [] for order in orders}
    with transaction.atomic():
        skus, _unlocked = read_candidates(codes, channel_id)
        sku_ids = sorted({sku.pk for sku in skus.values() if sku.track_inventory})
        skus = lock_allocations(skus, channel_id, sku_ids)
        levels = lock_candidates(sku_ids) if sku_ids else []
        outcomes, plan = plan_many(orders, skus, levels)
        if plan:
            _write_many(plan, actor=actor, channel_id=channel_id, skus=skus, outcomes=outcomes)
        buckets_spread([level.pk for level in levels if level.buckets])
    return outcomes


def _write_many(plan, *, actor: str, channel_id: int | None, skus, outcomes: dict) -> None:
    reservations = _insert_reserve_rows(
        [(order.order_id, line, level, qty, order.expires_at) for order, line, level, qty in plan],
        actor=actor, channel_id=channel_id, skus=skus,
    )
    if not _allocations_reserve([(line, level, qty) for _order, line, level, qty in plan], skus):
        raise RuntimeError("a locked allocation lost room it was planned with")
    per_level: dict[int, int] = defaultdict(int)
    for _order, _line, level, qty in plan:
        per_level[level.pk] += qty
    if not levels_reserve(per_level):
        raise RuntimeError("a locked stock level lost units it was planned with")
    for reservation in reservations:
        outcomes.setdefault(reservation.order_id, []).append(reservation)


def _settle(*, order_id: int, actor: str, reason: str, kind: str) -> int:
    """Releases or commits the order's active reservations; a second call finds none and returns 0."""
    actor = check_actor(actor)
    with transaction.atomic():
        reservations = list(
            Reservation.objects.select_for_update()
            .filter(order_id=order_id, state=Reservation.State.ACTIVE)
            .order_by("pk")
        )
        if not reservations:
            return 0
        per_level: dict[int, int] = defaultdict(int)
        per_bucket: dict[int, int] = defaultdict(int)
        per_allocation: dict[int, int] = defaultdict(int)
        bucket_level = {}
        for reservation in reservations:
            if reservation.bucket_id is None:
                per_level[reservation.stock_level_id] += reservation.quantity
            else:
                per_bucket[reservation.bucket_id] += reservation.quantity
                bucket_level[reservation.bucket_id] = reservation.stock_level_id
            if reservation.allocation_id is not None:
                per_allocation[reservation.allocation_id] += reservation.quantity
        now = timezone.now()
        for allocation_pk in sorted(per_allocation):  # a removed allocation matches nothing, as it should
            ChannelAllocation.objects.filter(pk=allocation_pk).update(
                reserved=F("reserved") - per_allocation[allocation_pk], updated_at=now
            )
        on_hand_sign = -1 if kind == Kind.COMMIT else 0
        if per_bucket:
            # Split stock: the levels first (the lock order), so no merge runs between the bucket UPDATE and
            # the fallback for buckets merged since (their units are in the level row now).
            split_levels = StockLevel.objects.filter(pk__in={*per_level, *bucket_level}).order_by("pk")
            list(split_levels.select_for_update(of=("self",), no_key=True).values_list("pk", flat=True))
            for bucket_pk in buckets_settle(per_bucket, on_hand_sign=on_hand_sign):
                per_level[bucket_level[bucket_pk]] += per_bucket[bucket_pk]
        for level_pk in sorted(per_level):
            level_update(level_pk, reserved=-per_level[level_pk], on_hand=on_hand_sign * per_level[level_pk])
        levels = {lv.pk: lv for lv in StockLevel.objects.filter(pk__in={r.stock_level_id for r in reservations})
                  .only("sku_id", "warehouse_id")}
        state = Reservation.State.COMMITTED if kind == Kind.COMMIT else Reservation.State.RELEASED
        Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(
            state=state, release_reason=reason[:100] if kind == Kind.RELEASE else ""
        )
        StockMovement.objects.bulk_create(
            StockMovement(
                stock_level_id=r.stock_level_id, sku_id=levels[r.stock_level_id].sku_id,
                warehouse_id=levels[r.stock_level_id].warehouse_id, kind=kind, quantity=r.quantity,
                on_hand_delta=on_hand_sign * r.quantity, reserved_delta=-r.quantity, reason=reason[:200],
                actor=actor, order_id=order_id, reference=f"order:{order_id} line:{r.order_line_id}",
            )
            for r in reservations
        )
        return sum(r.quantity for r in reservations)


def stock_release(*, order_id: int, actor: str, reason: str) -> int:
    """Gives back all active reservations of an order (cancelled, expired, ...); returns units released."""
    return _settle(order_id=order_id, actor=actor, reason=reason, kind=Kind.RELEASE)


def stock_commit(*, order_id: int, actor: str) -> int:
    """The order shipped: its reserved units leave the building (on_hand and reserved both drop)."""
    return _settle(order_id=order_id, actor=actor, reason="shipped", kind=Kind.COMMIT)


def stock_reservation_confirm(*, order_id: int) -> None:
    """The order is paid: its reservations no longer expire."""
    Reservation.objects.filter(order_id=order_id, state=Reservation.State.ACTIVE).exclude(
        expires_at=None
    ).update(expires_at=None)


def stock_level_lock(*, sku: Sku, warehouse: Warehouse) -> StockLevel:
    """The level row (created empty if missing), locked for the rest of the caller's transaction."""
    StockLevel.objects.bulk_create([StockLevel(sku=sku, warehouse=warehouse)], ignore_conflicts=True)
    return StockLevel.objects.select_for_update(of=("self",), no_key=True).get(sku=sku, warehouse=warehouse)


def _change_on_hand(*, sku: Sku, warehouse: Warehouse, kind: str, delta: int, reason: str, actor: str,
                    field: str) -> StockLevel:
    with transaction.atomic():
        level = stock_level_lock(sku=sku, warehouse=warehouse)
        if level.buckets:
            # Split stock: with every free unit in the row, a decrease is checked exactly against the row.
            buckets_gather([level.pk])
        on_hand, reserved = level_totals(level.pk)
        new_on_hand = on_hand + delta
        if new_on_hand > MAX_UNITS:
            raise InvalidQuantity(
                f"{field}: on hand for {sku.code} at {warehouse.code} would become {new_on_hand}, more than the "
                f"{MAX_UNITS} units one stock level can count.", field=field,
            )
        if new_on_hand < reserved:
            raise BelowReserved(sku=sku.code, warehouse=warehouse.code, on_hand=new_on_hand,
                                reserved=reserved, field=field)
        if delta != 0:
            level_update(level.pk, on_hand=delta)
            StockMovement.objects.create(
                stock_level=level, sku=sku, warehouse=warehouse, kind=kind, quantity=delta, on_hand_delta=delta,
                reserved_delta=0, reason=reason[:200], actor=actor,
            )
        if level.buckets:
            buckets_spread([level.pk])
        level.refresh_from_db()
        # What callers show is the level's stock, the row's and its buckets' together (not saved).
        level.on_hand, level.reserved = level_totals(level.pk)
        return level


def stock_receive(*, sku_code: str, warehouse_code: str, quantity: int, actor: str,
                  reason: str = "receipt") -> StockLevel:
    """Goods arrived: on_hand grows by quantity (> 0)."""
    actor = check_actor(actor)
    check_quantity(quantity, field="quantity")
    sku, warehouse = sku_and_warehouse_get(sku_code=sku_code, warehouse_code=warehouse_code)
    return _change_on_hand(sku=sku, warehouse=warehouse, kind=Kind.RECEIPT, delta=quantity, reason=reason,
                           actor=actor, field="quantity")


def stock_adjust(*, sku_code: str, warehouse_code: str, actor: str, reason: str, on_hand: int | None = None,
                 delta: int | None = None) -> StockLevel:
    """Corrects on_hand after a count (absolute `on_hand`) or a known loss/find (`delta`); exactly one of them."""
    actor = check_actor(actor)
    if (on_hand is None) == (delta is None):
        raise InvalidQuantity("Send exactly one of on_hand (absolute count) or delta (change).", field="on_hand")
    if not reason or not reason.strip():
        raise InventoryError("reason is required for an adjustment.", field="reason")
    if on_hand is not None:
        check_quantity(on_hand, field="on_hand", allow_zero=True)
    else:
        check_quantity(delta, field="delta", allow_negative=True)
    sku, warehouse = sku_and_warehouse_get(sku_code=sku_code, warehouse_code=warehouse_code)
    with transaction.atomic():
        level = stock_level_lock(sku=sku, warehouse=warehouse)
        change = on_hand - level_totals(level.pk)[0] if on_hand is not None else delta
        return _change_on_hand(sku=sku, warehouse=warehouse, kind=Kind.ADJUSTMENT, delta=change, reason=reason,
                               actor=actor, field="on_hand" if on_hand is not None else "delta")
