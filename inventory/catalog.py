"""Catalog writes: SKUs, warehouses and which channel may sell how much of a SKU (allocations).

Every SKU and allocation change writes a SkuChange row naming its actor (`api:<key prefix>`, `user:<name>`,
`system…`) in the same transaction, so renaming, untracking or re-listing a SKU is as traceable as a stock count.
"""

from django.db import IntegrityError, transaction

from inventory.checks import check_actor, check_quantity, check_sku_code
from inventory.errors import InventoryError, UnknownSku
from inventory.feed import levels_touch
from inventory.models import ChannelAllocation, Reservation, Sku, SkuChange, StockLevel, Warehouse

SKU_NAME_MAX_LENGTH = Sku._meta.get_field("name").max_length
_AUDITED = ("name", "track_inventory", "safety_stock", "restricted")


def sku_upsert(*, code: str, name: str, actor: str, track_inventory: bool = True, safety_stock: int = 0,
               restricted: bool | None = None) -> tuple[Sku, bool]:
    """Creates or updates a SKU; `restricted=None` keeps what it was (new SKUs are unrestricted)."""
    actor = check_actor(actor)
    check_sku_code(code, field="code")
    if not isinstance(name, str) or not name.strip():
        raise InventoryError("name is required.", field="name")
    if len(name) > SKU_NAME_MAX_LENGTH:
        raise InventoryError(f"name: at most {SKU_NAME_MAX_LENGTH} characters.", field="name")
    check_quantity(safety_stock, field="safety_stock", allow_zero=True)
    values = {"name": name, "track_inventory": track_inventory, "safety_stock": safety_stock}
    if restricted is not None:
        values["restricted"] = restricted
    with transaction.atomic():
        # NO KEY UPDATE: reservers' foreign-key checks take key-share locks on the SKU, which this must not block.
        sku = Sku.objects.select_for_update(no_key=True).filter(code=code).first()
        if sku is None:
            try:
                with transaction.atomic():
                    sku = Sku.objects.create(code=code, **values)
                    created = {field: [None, getattr(sku, field)] for field in _AUDITED}
                    sku_change_record(sku=sku, actor=actor, changes=created)
                    return sku, True
            except IntegrityError:
                sku = Sku.objects.select_for_update(no_key=True).get(code=code)
        changes = {field: [getattr(sku, field), value] for field, value in values.items()
                   if getattr(sku, field) != value}
        if changes:
            Sku.objects.filter(pk=sku.pk).update(**values)
            sku.refresh_from_db()
            sku_change_record(sku=sku, actor=actor, changes=changes)
        if changes.keys() & {"track_inventory", "safety_stock"}:
            levels_touch(sku.stock_levels.all())
    return sku, False


def sku_change_record(*, sku: Sku, actor: str, changes: dict) -> None:
    """One row of the SKU's audit trail: who changed which fields from what to what."""
    SkuChange.objects.create(sku=sku, actor=actor, changes=changes)


def warehouse_upsert(*, code: str, name: str, priority: int = 100, country: str = "",
                     active: bool = True) -> Warehouse:
    if not code or not code.strip():
        raise InventoryError("code is required.", field="code")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InventoryError(f"priority must be a whole number, got {priority!r}.", field="priority")
    values = {"name": name, "priority": priority, "country": country.upper(), "active": active}
    with transaction.atomic():
        warehouse = Warehouse.objects.select_for_update(no_key=True).filter(code=code).first()
        if warehouse is None:
            try:
                with transaction.atomic():
                    return Warehouse.objects.create(code=code, **values)
            except IntegrityError:
                warehouse = Warehouse.objects.select_for_update(no_key=True).get(code=code)
        was_active = warehouse.active
        Warehouse.objects.filter(pk=warehouse.pk).update(**values)
        warehouse.refresh_from_db()
        if was_active != active:
            levels_touch(warehouse.stock_levels.all())
    return warehouse


def _sku(code: str) -> Sku:
    check_sku_code(code)
    sku = Sku.objects.filter(code=code).first()
    if sku is None:
        raise UnknownSku([code])
    return sku


def allocation_set(*, channel, sku_code: str, cap: int | None, actor: str) -> ChannelAllocation:
    """Lists `sku_code` for `channel` (a restricted SKU becomes sellable by it), capped at `cap` units held by its
    open orders at once (None: no cap). Idempotent.

    The allocation's counter then counts every active reservation of the channel for the SKU, including those
    made before it existed or while an earlier save raced a reservation: each save adds whatever it finds
    uncounted. Lock order as everywhere: the reservations (marked in pk order), then the allocation row.
    """
    actor = check_actor(actor)
    if cap is not None:
        check_quantity(cap, field="cap", allow_zero=True)
    sku = _sku(sku_code)
    with transaction.atomic():
        allocation = ChannelAllocation.objects.filter(channel=channel, sku=sku).first()
        created = allocation is None
        if created:
            try:
                with transaction.atomic():
                    allocation = ChannelAllocation.objects.create(channel=channel, sku=sku, cap=cap)
            except IntegrityError:  # saved concurrently by someone else: update theirs
                allocation = ChannelAllocation.objects.get(channel=channel, sku=sku)
                created = False
        uncounted = list(
            Reservation.objects.select_for_update()
            .filter(channel_id=channel.pk, state=Reservation.State.ACTIVE,
                    stock_level_id__in=StockLevel.objects.filter(sku=sku).values("pk"))
            .exclude(allocation_id=allocation.pk).order_by("pk").values_list("pk", "quantity")
        )
        if uncounted:
            Reservation.objects.filter(pk__in=[pk for pk, _qty in uncounted]).update(allocation_id=allocation.pk)
        allocation = ChannelAllocation.objects.select_for_update().get(pk=allocation.pk)
        before = None if created else {"cap": allocation.cap}
        allocation.cap = cap
        allocation.reserved += sum(qty for _pk, qty in uncounted)
        allocation.save(update_fields=["cap", "reserved", "updated_at"])
        if before != {"cap": cap}:
            sku_change_record(sku=sku, actor=actor, changes={f"allocation:{channel.code}": [before, {"cap": cap}]})
    return allocation


def allocation_remove(*, channel, sku_code: str, actor: str) -> bool:
    """Delists the SKU for the channel (a restricted SKU becomes unknown to it again) and lifts its cap. Its open
    orders keep their stock; their reservations still name the removed allocation and change no counter."""
    actor = check_actor(actor)
    sku = _sku(sku_code)
    with transaction.atomic():
        allocation = ChannelAllocation.objects.select_for_update().filter(channel=channel, sku=sku).first()
        if allocation is None:
            return False
        sku_change_record(sku=sku, actor=actor, changes={f"allocation:{channel.code}": [{"cap": allocation.cap}, None]})
        allocation.delete()
    return True
