"""Stock reads shared by the API, admin, the stock feed and the orders app."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Min, Q, Sum
from django.db.models.functions import Coalesce

from inventory.models import Reservation, Sku
from inventory.reserving import plan_many, read_candidates

_ACTIVE = Q(stock_levels__warehouse__active=True)


def channel_buffer(channel) -> int:
    """Units a channel is additionally told it cannot sell (duck-typed: channels own that setting)."""
    return max(int(getattr(channel, "stock_buffer", 0) or 0), 0)


def skus_with_stock(*, sku_codes: Iterable[str]):
    """SKUs annotated with on_hand, reserved and free (on_hand - reserved) summed over active warehouses."""
    return Sku.objects.filter(code__in=set(sku_codes)).annotate(
        total_on_hand=Coalesce(Sum("stock_levels__on_hand", filter=_ACTIVE), 0),
        total_reserved=Coalesce(Sum("stock_levels__reserved", filter=_ACTIVE), 0),
    )


def available_for(sku: Sku, *, buffer: int = 0) -> int:
    """Available-to-sell for a SKU annotated by skus_with_stock: free units minus safety stock, never negative."""
    return max(sku.total_on_hand - sku.total_reserved - sku.safety_stock - buffer, 0)


def available_to_sell(*, sku_codes: Iterable[str], channel=None) -> dict[str, int]:
    """Available-to-sell per tracked SKU; unknown and untracked SKUs (always sellable) are absent."""
    buffer = channel_buffer(channel)
    return {
        sku.code: available_for(sku, buffer=buffer)
        for sku in skus_with_stock(sku_codes=sku_codes)
        if sku.track_inventory
    }


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


def stock_preview_many(*, orders) -> dict:
    """What stock_reserve_many would answer right now, from an unlocked read, without writing or locking.

    A prediction: stock may move before the real call. Callers use it to do their own writes before taking
    the stock-level locks, and compare it with the real answer.
    """
    codes = {line.sku_code for order in orders for line in order.lines}
    if not codes:
        return {order.order_id: [] for order in orders}
    skus, levels = read_candidates(codes)
    outcomes, plan = plan_many(orders, skus, levels)
    for order, _line, _level, _qty in plan:
        outcomes.setdefault(order.order_id, [])
    return outcomes
