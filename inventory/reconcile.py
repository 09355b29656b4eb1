"""Recomputes every stock level from the ledger and the active reservations; read-only by design."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Sum

from inventory.models import ChannelAllocation, Reservation, StockBucket, StockLevel, StockMovement


@dataclass(frozen=True)
class Drift:
    sku: str
    warehouse: str
    on_hand: int
    ledger_on_hand: int
    reserved: int
    ledger_reserved: int
    active_reserved: int

    def describe(self) -> str:
        parts = []
        if self.on_hand != self.ledger_on_hand:
            parts.append(f"on_hand {self.on_hand} but ledger says {self.ledger_on_hand}")
        if self.reserved != self.ledger_reserved:
            parts.append(f"reserved {self.reserved} but ledger says {self.ledger_reserved}")
        if self.reserved != self.active_reserved:
            parts.append(f"reserved {self.reserved} but active reservations hold {self.active_reserved}")
        return f"{self.sku}@{self.warehouse}: " + "; ".join(parts)


def stock_drift(*, progress: Callable[[Iterable, int], Iterable] | None = None) -> list[Drift]:
    """Every stock level whose numbers the ledger or the reservations do not explain.

    A split level's numbers are its row's plus its buckets'. Totals are grouped in the database (three
    aggregate queries), then compared level by level; `progress` wraps that loop (a tqdm bar in the command).
    """
    in_buckets = {
        row["stock_level_id"]: (row["on_hand"], row["reserved"])
        for row in StockBucket.objects.order_by().values("stock_level_id").annotate(
            on_hand=Sum("on_hand"), reserved=Sum("reserved")
        )
    }
    ledger = {
        row["stock_level_id"]: (row["on_hand"], row["reserved"])
        for row in StockMovement.objects.order_by().values("stock_level_id").annotate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
        )
    }
    active = {
        row["stock_level_id"]: row["quantity"]
        for row in Reservation.objects.filter(state=Reservation.State.ACTIVE).order_by().values("stock_level_id")
        .annotate(quantity=Sum("quantity"))
    }
    levels = StockLevel.objects.order_by("pk").values_list("pk", "sku__code", "warehouse__code", "on_hand", "reserved")
    total = levels.count()
    rows: Iterable = levels.iterator(chunk_size=2000)
    if progress is not None:
        rows = progress(rows, total)
    drifts = []
    for pk, sku, warehouse, on_hand, reserved in rows:
        bucket_on_hand, bucket_reserved = in_buckets.get(pk, (0, 0))
        on_hand, reserved = on_hand + bucket_on_hand, reserved + bucket_reserved
        ledger_on_hand, ledger_reserved = ledger.get(pk, (0, 0))
        active_reserved = active.get(pk, 0)
        if (on_hand, reserved) != (ledger_on_hand, ledger_reserved) or reserved != active_reserved:
            drifts.append(Drift(sku, warehouse, on_hand, ledger_on_hand, reserved, ledger_reserved, active_reserved))
    return drifts


@dataclass(frozen=True)
class AllocationDrift:
    sku: str
    channel: str
    reserved: int
    counted: int

    def describe(self) -> str:
        return (f"{self.sku} for channel {self.channel}: allocation says {self.reserved} reserved but its active "
                f"reservations hold {self.counted}")


def allocation_drift() -> list[AllocationDrift]:
    """Every channel allocation whose counter differs from what the channel's active reservations of the SKU
    hold (one grouped query). Lower: a reservation raced the allocation's first save; saving it again (admin,
    allocation_set) counts it. Higher is a bug to investigate."""
    held = {
        (row["channel_id"], row["stock_level__sku_id"]): row["quantity"]
        for row in Reservation.objects.filter(state=Reservation.State.ACTIVE, channel_id__isnull=False)
        .order_by().values("channel_id", "stock_level__sku_id").annotate(quantity=Sum("quantity"))
    }
    rows = ChannelAllocation.objects.order_by("pk").values_list(
        "channel_id", "sku_id", "sku__code", "channel__code", "reserved"
    )
    drifts = []
    for channel_id, sku_id, sku, channel, reserved in rows:
        counted = held.get((channel_id, sku_id), 0)
        if reserved != counted:
            drifts.append(AllocationDrift(sku, channel, reserved, counted))
    return drifts


@dataclass(frozen=True)
class BucketDrift:
    sku: str
    warehouse: str
    bucket: int  # the bucket's index; -1 for the level row itself
    reserved: int
    active_reserved: int

    def describe(self) -> str:
        where = f"bucket {self.bucket}" if self.bucket >= 0 else "row (outside its buckets)"
        return (f"{self.sku}@{self.warehouse} {where}: reserved {self.reserved} but its active reservations hold "
                f"{self.active_reserved}")


def bucket_drift() -> list[BucketDrift]:
    """Every bucket of a split level whose `reserved` differs from the active reservations made from it, and
    every split level row whose own `reserved` differs from the rest of its active reservations (those made
    from the row, or from buckets merged since). Together with stock_drift: each unit is in exactly one row."""
    buckets = list(StockBucket.objects.order_by("pk").values_list(
        "pk", "stock_level_id", "index", "reserved", "stock_level__sku__code", "stock_level__warehouse__code"))
    if not buckets:
        return []
    live = {pk for pk, *_rest in buckets}
    held: dict[int | None, int] = {}
    row_held: dict[int, int] = {}
    for level_pk, bucket_pk, quantity in (
        Reservation.objects.filter(state=Reservation.State.ACTIVE, stock_level_id__in={b[1] for b in buckets})
        .order_by().values("stock_level_id", "bucket_id").annotate(quantity=Sum("quantity"))
        .values_list("stock_level_id", "bucket_id", "quantity")
    ):
        if bucket_pk in live:
            held[bucket_pk] = quantity
        else:
            row_held[level_pk] = row_held.get(level_pk, 0) + quantity
    drifts = [BucketDrift(sku, warehouse, index, reserved, held.get(pk, 0))
              for pk, _level, index, reserved, sku, warehouse in buckets if reserved != held.get(pk, 0)]
    rows = StockLevel.objects.filter(pk__in={b[1] for b in buckets}).order_by("pk").values_list(
        "pk", "reserved", "sku__code", "warehouse__code")
    drifts += [BucketDrift(sku, warehouse, -1, reserved, row_held.get(pk, 0))
               for pk, reserved, sku, warehouse in rows if reserved != row_held.get(pk, 0)]
    return drifts
