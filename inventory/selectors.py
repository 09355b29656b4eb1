"""Stock reads shared by the API, admin, the stock feed and the orders app."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import F, FilteredRelation, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from inventory.checks import check_sku_code
from inventory.codes import is_sku_code
from inventory.errors import UnknownSku, UnknownWarehouse
from inventory.models import Reservation, Sku, StockBucket, Warehouse
from inventory.reserving import plan_many, read_candidates, unknown_to

_ACTIVE = Q(stock_levels__warehouse__active=True)


def _in_buckets(field: str, **level):
    """Σ `field` of the split-stock buckets of the outer row's levels (a subquery: joining buckets next to the
    levels would count each level once per bucket)."""
    rows = StockBucket.objects.filter(**level).order_by().values("stock_level__sku_id")
    return Coalesce(Subquery(rows.annotate(total=Sum(field)).values("total")), 0)


def with_stock_totals(skus):
    """SKUs annotated with total_on_hand and total_reserved over active warehouses, split stock included."""
    def total(field):
        in_buckets = _in_buckets(field, stock_level__sku_id=OuterRef("pk"), stock_level__warehouse__active=True)
        return Coalesce(Sum(f"stock_levels__{field}", filter=_ACTIVE), 0) + in_buckets

    return skus.annotate(total_on_hand=total("on_hand"), total_reserved=total("reserved"))


def levels_with_free(levels):
    """Stock levels annotated with total_on_hand, total_reserved and free, of the row and its buckets."""
    def in_buckets(field):
        rows = StockBucket.objects.filter(stock_level_id=OuterRef("pk")).order_by().values("stock_level_id")
        return Coalesce(Subquery(rows.annotate(total=Sum(field)).values("total")), 0)

    return levels.annotate(
        total_on_hand=F("on_hand") + in_buckets("on_hand"), total_reserved=F("reserved") + in_buckets("reserved")
    ).annotate(free=F("total_on_hand") - F("total_reserved"))


def skus_with_stock(*, sku_codes: Iterable[str]):
    """SKUs annotated with on_hand, reserved and free (on_hand - reserved) summed over active warehouses."""
    return with_stock_totals(Sku.objects.filter(code__in={code for code in sku_codes if is_sku_code(code)}))


def available_for(sku: Sku, *, buffer: int = 0) -> int:
    """Available-to-sell for a SKU annotated by skus_with_stock: free units minus safety stock, never negative."""
    return max(sku.total_on_hand - sku.total_reserved - sku.safety_stock - buffer, 0)


def sellable_availability(*, sku_codes: Iterable[str], channel=None) -> dict[str, int | None]:
    """What a channel may know: {code: available-to-sell (None when untracked)} for the SKUs it may sell, in one
    query. SKUs restricted to other channels are absent, exactly like unknown ones.

    For a sales channel: minus its `stock_buffer`, and at most what its allocation cap leaves. Without a channel,
    or for a stock system (which owns the numbers), the whole catalog before any channel's buffer or cap.
    """
    skus = skus_with_stock(sku_codes=sku_codes)
    buffer = 0
    if channel is not None and channel.is_sales_channel:
        buffer = channel.stock_buffer
        skus = (
            skus.annotate(mine=FilteredRelation("allocations", condition=Q(allocations__channel=channel)))
            .filter(Q(restricted=False) | Q(mine__isnull=False))
            .annotate(cap=F("mine__cap"), held=F("mine__reserved"))
        )
    result: dict[str, int | None] = {}
    for sku in skus:
        if not sku.track_inventory:
            result[sku.code] = None
            continue
        available = available_for(sku, buffer=buffer)
        if getattr(sku, "cap", None) is not None:
            available = min(available, max(sku.cap - sku.held, 0))
        result[sku.code] = available
    return result


def available_to_sell(*, sku_codes: Iterable[str], channel=None) -> dict[str, int]:
    """Available-to-sell per tracked SKU the channel may sell; unknown and untracked SKUs are absent."""
    return {
        code: available
        for code, available in sellable_availability(sku_codes=sku_codes, channel=channel).items()
        if available is not None
    }


def existing_sku_codes(*, sku_codes: Iterable[str]) -> set[str]:
    """For the operator's log only: which of the codes a channel was told are unknown do exist."""
    return set(Sku.objects.filter(code__in={c for c in sku_codes if is_sku_code(c)}).values_list("code", flat=True))


def sku_refusals(*, orders: dict[int, set[str]], channel_id: int | None) -> dict[int, UnknownSku]:
    """{order id: the UnknownSku stock_reserve would raise} for orders naming SKUs that are unknown or not
    sellable by the channel, from one read and without reserving (orders held before reserving use it)."""
    if not orders:
        return {}
    skus, _levels = read_candidates(set().union(*orders.values()), channel_id)
    refusals = {order_id: unknown_to(skus, codes) for order_id, codes in orders.items()}
    return {order_id: refusal for order_id, refusal in refusals.items() if refusal is not None}


def order_has_active_reservation(*, order_id: int) -> bool:
    return Reservation.objects.filter(order_id=order_id, state=Reservation.State.ACTIVE).exists()


def expired_reservation_order_ids(*, now: datetime, limit: int = 500) -> list[int]:
    """Orders holding at least one active reservation whose expiry has passed, oldest expiry first."""
    rows = (
        Reservation.objects.filter(state=Reservation.State.ACTIVE, expires_at__lte=now)
        .values("order_id")
        .annotate(first_expiry=Min("expires_at"))
        .order_by("first_expiry", "order_id")
    )
    return [row["order_id"] for row in rows[:limit]]


def stock_preview_many(*, orders, channel_id: int | None = None) -> dict:
    """What stock_reserve_many would answer right now, from an unlocked read, without writing or locking.

    A prediction: stock may move before the real call. Callers use it to do their own writes before taking
    the stock-level locks, and compare it with the real answer.
    """
    codes = {line.sku_code for order in orders for line in order.lines}
    if not codes:
        return {order.order_id: [] for order in orders}
    skus, levels = read_candidates(codes, channel_id)
    outcomes, plan = plan_many(orders, skus, levels)
    for order, _line, _level, _qty in plan:
        outcomes.setdefault(order.order_id, [])
    return outcomes


def sku_and_warehouse_get(*, sku_code: str, warehouse_code: str) -> tuple[Sku, Warehouse]:
    """Both rows by code, or the 4xx error naming the one that is unknown."""
    check_sku_code(sku_code)
    sku = Sku.objects.filter(code=sku_code).first()
    if sku is None:
        raise UnknownSku([sku_code])
    warehouse = Warehouse.objects.filter(code=warehouse_code).first()
    if warehouse is None:
        raise UnknownWarehouse(warehouse_code)
    return sku, warehouse
