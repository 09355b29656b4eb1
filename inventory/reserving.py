"""How stock_reserve reads candidates, plans, and (on the flash-sale path) writes in one statement.

Reads use one raw query: this is the hottest code in the system and ORM query compilation was most of its
CPU time. The one-statement write covers reservations that fit in one stock level on PostgreSQL and touch no
channel allocation: the conditional UPDATE, the reservation rows and the ledger rows go to the server together,
so the hot stock-level row is locked only while that statement runs (and until the caller's commit). If the
UPDATE matches no row (someone took the stock since we read it) the INSERTs read nothing from it and nothing is
written; the caller then falls back to the general path under row locks.
"""

from collections import defaultdict
from dataclasses import dataclass, replace

from django.db import connection, transaction
from django.utils import timezone

from inventory.buckets import buckets_gather
from inventory.codes import is_sku_code
from inventory.errors import InsufficientStock, InventoryError, UnknownSku
from inventory.feed import nudge_publisher
from inventory.models import ChannelAllocation, Reservation, Sku, StockBucket, StockLevel, StockMovement, Warehouse
from ordersync.sql import db_table


@dataclass(frozen=True)
class AllocationRow:
    pk: int
    cap: int | None
    reserved: int

    @property
    def left(self) -> int | None:
        """Units the channel may still reserve under its cap; None without a cap."""
        return None if self.cap is None else max(self.cap - self.reserved, 0)


@dataclass(frozen=True)
class SkuRow:
    pk: int
    code: str
    track_inventory: bool
    restricted: bool = False
    allocation: AllocationRow | None = None
    # Whether the asking channel may sell it: unrestricted, or listed for the channel (a system caller may sell all).
    sellable: bool = True


@dataclass(frozen=True)
class LevelRow:
    pk: int
    sku_id: int
    warehouse_id: int
    free: int
    priority: tuple[int, str]
    buckets: int = 0  # split stock: free counts the row and its buckets


def read_candidates(codes: set[str], channel_id: int | None = None) -> tuple[dict[str, SkuRow], list[LevelRow]]:
    """The SKUs named, the channel's allocations of them and their stock levels in active warehouses, in one
    unlocked query. Codes outside the SKU code pattern cannot exist and are not sent to the database."""
    codes = {code for code in codes if is_sku_code(code)}
    if not codes:
        return {}, []
    placeholders = ", ".join(["%s"] * len(codes))
    sql = f"""
        SELECT s.id, s.code, s.track_inventory, s.restricted, a.id, a.cap, a.reserved,
               l.id, l.warehouse_id, l.on_hand - l.reserved + CASE WHEN l.buckets = 0 THEN 0 ELSE (
                   SELECT COALESCE(SUM(b.on_hand - b.reserved), 0) FROM {db_table(StockBucket)} b
                   WHERE b.stock_level_id = l.id) END,
               w.priority, w.code, l.buckets
        FROM {db_table(Sku)} s
        LEFT JOIN {db_table(ChannelAllocation)} a ON a.sku_id = s.id AND a.channel_id = %s
        LEFT JOIN ({db_table(StockLevel)} l JOIN {db_table(Warehouse)} w ON w.id = l.warehouse_id AND w.active)
            ON l.sku_id = s.id
        WHERE s.code IN ({placeholders})
    """
    skus: dict[str, SkuRow] = {}
    levels: list[LevelRow] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [channel_id, *codes])
        for (sku_id, code, tracked, restricted, allocation_id, cap, held, level_id, warehouse_id, free, priority,
             warehouse_code, buckets) in cursor.fetchall():
            allocation = AllocationRow(allocation_id, cap, held) if allocation_id is not None else None
            sellable = channel_id is None or not restricted or allocation is not None
            skus[code] = SkuRow(sku_id, code, bool(tracked), bool(restricted), allocation, sellable)
            if level_id is not None:
                levels.append(LevelRow(level_id, sku_id, warehouse_id, free, (priority, warehouse_code), buckets))
    return skus, levels


def unknown_to(skus: dict[str, SkuRow], codes) -> UnknownSku | None:
    """The refusal for codes the channel cannot order: unknown ones and those it may not sell, told apart only
    for the operator (UnknownSku.not_sellable)."""
    unknown = {code for code in codes if code not in skus or not skus[code].sellable}
    if not unknown:
        return None
    return UnknownSku(unknown, not_sellable={code for code in unknown if code in skus})


def lock_allocations(skus: dict[str, SkuRow], channel_id: int | None, sku_ids) -> dict[str, SkuRow]:
    """Locks the channel's allocations of these SKUs in pk order (after reservations, before stock levels in the
    global lock order) and returns the SKU rows with their current numbers."""
    if channel_id is None:
        return skus
    sku_ids = set(sku_ids)
    locked = {
        row.sku_id: AllocationRow(row.pk, row.cap, row.reserved)
        for row in ChannelAllocation.objects.select_for_update().filter(channel_id=channel_id, sku_id__in=sku_ids)
        .order_by("pk").only("pk", "sku_id", "cap", "reserved")
    }
    return {code: replace(row, allocation=locked.get(row.pk)) if row.pk in sku_ids else row
            for code, row in skus.items()}


def lock_candidates(sku_ids: list[int]) -> list[LevelRow]:
    """The same stock levels, locked in pk order (the global lock order), with their current numbers.

    Split levels have their buckets' free units gathered into the row (inventory.buckets), so the plan and the
    single-row writes are exact for them too; the caller spreads them out again before it commits.
    """
    rows = list(
        StockLevel.objects.filter(sku_id__in=sku_ids, warehouse__active=True)
        .select_for_update(of=("self",), no_key=True).order_by("pk")
        .values_list("pk", "sku_id", "warehouse_id", "on_hand", "reserved", "warehouse__priority", "warehouse__code",
                     "buckets")
    )
    gathered = buckets_gather([row[0] for row in rows if row[-1]])
    return [
        LevelRow(pk, sku, warehouse, on_hand - reserved + gathered.get(pk, 0), (priority, code), buckets)
        for pk, sku, warehouse, on_hand, reserved, priority, code, buckets in rows
    ]


def allocate(lines, skus: dict[str, SkuRow], levels: list[LevelRow], caps_left: dict[str, int] | None = None
             ) -> list[tuple]:
    """Plans [(line, level, qty)] or raises InsufficientStock.

    Per SKU: the highest-priority warehouse that can supply all of the order's units of it (one parcel);
    only when none can, the units are split over warehouses in priority order. A SKU the channel holds under a
    cap offers at most what the cap leaves (`caps_left`, default: from the SKU rows).
    """
    if caps_left is None:
        caps_left = caps_of(skus)
    by_sku: dict[int, list[LevelRow]] = defaultdict(list)
    for level in sorted(levels, key=lambda lv: lv.priority):
        by_sku[level.sku_id].append(level)
    free = {level.pk: level.free for level in levels}
    requested: dict[str, int] = {}
    for line in lines:
        requested[line.sku_code] = requested.get(line.sku_code, 0) + line.quantity
    shortages, sources = [], {}
    for code, qty in requested.items():
        candidates = by_sku[skus[code].pk]
        have = sum(max(free[lv.pk], 0) for lv in candidates)
        if code in caps_left:
            have = min(have, caps_left[code])
        if have < qty:
            shortages.append({"sku": code, "requested": qty, "available": have})
        whole = next((lv for lv in candidates if free[lv.pk] >= qty), None)
        sources[code] = [whole] if whole else candidates
    if shortages:
        raise InsufficientStock(sorted(shortages, key=lambda s: s["sku"]))
    plan = []
    for line in lines:
        remaining = line.quantity
        for level in sources[line.sku_code]:
            take = min(remaining, free[level.pk])
            if take <= 0:
                continue
            free[level.pk] -= take
            remaining -= take
            plan.append((line, level, take))
            if remaining == 0:
                break
    return plan


def caps_of(skus: dict[str, SkuRow]) -> dict[str, int]:
    return {code: row.allocation.left for code, row in skus.items()
            if row.allocation is not None and row.allocation.cap is not None}


def plan_many(orders, skus: dict[str, SkuRow], levels: list[LevelRow]) -> tuple[dict, list[tuple]]:
    """Plans orders one after another against one picture of the levels, each taking from what is left.

    Returns ({order_id: [] (nothing to reserve) or its UnknownSku / InsufficientStock}, [(order, line, level,
    qty)] for every reservation of the orders that fit). An order that does not fit takes nothing.
    """
    current = {level.pk: level for level in levels}
    by_sku: dict[int, list[int]] = defaultdict(list)
    for level in levels:
        by_sku[level.sku_id].append(level.pk)
    caps_left = caps_of(skus)
    outcomes: dict[int, list | InventoryError] = {}
    plan: list[tuple] = []
    for order in orders:
        refusal = unknown_to(skus, {line.sku_code for line in order.lines})
        if refusal is not None:
            outcomes[order.order_id] = refusal
            continue
        tracked = [line for line in order.lines if skus[line.sku_code].track_inventory]
        if not tracked:
            outcomes[order.order_id] = []
            continue
        candidates = [current[pk] for code in {line.sku_code for line in tracked} for pk in by_sku[skus[code].pk]]
        try:
            order_plan = allocate(tracked, skus, candidates, caps_left)
        except InsufficientStock as exc:
            outcomes[order.order_id] = exc
            continue
        for line, level, qty in order_plan:
            current[level.pk] = replace(current[level.pk], free=current[level.pk].free - qty)
            if line.sku_code in caps_left:
                caps_left[line.sku_code] -= qty
            plan.append((order, line, level, qty))
    return outcomes, plan


def _one_statement_sql(items: int) -> str:
    """The conditional UPDATE of one stock level plus its reservation and ledger INSERTs as one statement.

    (Choosing the level inside the statement too was measured slower under contention than this plus the
    separate unlocked read.)
    """
    values = ", ".join(["(%s::bigint, %s::integer)"] * items)
    return f"""
        WITH upd AS (
            UPDATE {db_table(StockLevel)} SET reserved = reserved + %s, version = version + 1, updated_at = %s
            WHERE id = %s AND on_hand - reserved >= %s
            RETURNING id, sku_id, warehouse_id, version - 1 = published_version AS was_clean
        ), items (line_id, quantity) AS (VALUES {values}),
        res AS (
            INSERT INTO {db_table(Reservation)} (order_id, order_line_id, stock_level_id, quantity, state,
                expires_at, release_reason, channel_id, created_at, updated_at)
            SELECT %s, items.line_id, upd.id, items.quantity, %s, %s::timestamptz, '', %s::bigint, %s, %s
            FROM upd CROSS JOIN items
            RETURNING id, order_line_id, stock_level_id, quantity
        ), mov AS (
            INSERT INTO {db_table(StockMovement)} (stock_level_id, sku_id, warehouse_id, kind, quantity,
                on_hand_delta, reserved_delta, reason, actor, reference, order_id, created_at)
            SELECT upd.id, upd.sku_id, upd.warehouse_id, %s, items.quantity, 0, items.quantity, '', %s,
                'order:' || %s::text || ' line:' || items.line_id::text, %s, %s
            FROM upd CROSS JOIN items
        )
        SELECT upd.was_clean, res.id, res.order_line_id, res.stock_level_id, res.quantity FROM upd CROSS JOIN res
    """


def reserve_in_one_statement(*, order_id: int, level: LevelRow, items: list[tuple[int, int]], expires_at,
                             actor: str, channel_id: int | None) -> list[Reservation] | None:
    """Reserves items [(order_line_id, quantity)] from `level`; None if it no longer has them (out-raced).

    For SKUs without an allocation of the channel only: nothing here counts against a cap."""
    now = timezone.now()
    total = sum(qty for _line, qty in items)
    params: list = [total, now, level.pk, total]
    for line_id, qty in items:
        params += [line_id, qty]
    params += [order_id, Reservation.State.ACTIVE, expires_at, channel_id, now, now]
    params += [StockMovement.Kind.RESERVE, actor, order_id, order_id, now]
    with connection.cursor() as cursor:
        cursor.execute(_one_statement_sql(len(items)), params)
        rows = cursor.fetchall()
    if not rows:
        return None
    if rows[0][0]:
        transaction.on_commit(nudge_publisher, robust=True)
    reservations = []
    for _clean, pk, line_id, level_id, qty in rows:
        reservation = Reservation(pk=pk, order_id=order_id, order_line_id=line_id, stock_level_id=level_id,
                                  quantity=qty, state=Reservation.State.ACTIVE, expires_at=expires_at,
                                  channel_id=channel_id, created_at=now, updated_at=now)
        reservation._state.adding = False
        reservation._state.db = connection.alias
        reservations.append(reservation)
    return reservations
