"""Turning split stock on and off for one SKU in one warehouse, safely while orders flow.

Both services lock the stock level row, then its buckets in pk order (the lock order of inventory.buckets),
so a reservation in flight either finished before (its units are in a bucket, which a merge adds to the level
row) or runs after and sees the new layout: a fast-path reserver aimed at a deleted bucket matches nothing
and falls back to the exact path under the level's lock. Totals never change, so no ledger row is written;
the SKU's audit trail (SkuChange) records who changed the layout.
"""

from django.db import transaction

from inventory.buckets import MAX_BUCKETS, buckets_create, buckets_remove
from inventory.catalog import sku_change_record
from inventory.checks import check_actor
from inventory.errors import InvalidQuantity
from inventory.models import StockLevel
from inventory.selectors import sku_and_warehouse_get
from inventory.services import stock_level_lock


def _field(warehouse) -> str:
    return f"buckets:{warehouse.code}"


def stock_split(*, sku_code: str, warehouse_code: str, buckets: int, actor: str) -> StockLevel:
    """Spreads the level's free units over `buckets` rows (2..MAX_BUCKETS); a split level is re-split."""
    actor = check_actor(actor)
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 2 <= buckets <= MAX_BUCKETS:
        raise InvalidQuantity(f"buckets: a whole number from 2 to {MAX_BUCKETS}, got {str(buckets)[:40]!r}.",
                             field="buckets")
    sku, warehouse = sku_and_warehouse_get(sku_code=sku_code, warehouse_code=warehouse_code)
    with transaction.atomic():
        level = stock_level_lock(sku=sku, warehouse=warehouse)
        before = level.buckets
        if before == buckets:
            return level
        if before:
            buckets_remove(level.pk)
        buckets_create(level.pk, buckets)
        sku_change_record(sku=sku, actor=actor, changes={_field(warehouse): [before, buckets]})
        level.refresh_from_db()
        return level


def stock_merge(*, sku_code: str, warehouse_code: str, actor: str) -> StockLevel:
    """Back to the single row: the buckets' units (free and reserved) are added to it; idempotent."""
    actor = check_actor(actor)
    sku, warehouse = sku_and_warehouse_get(sku_code=sku_code, warehouse_code=warehouse_code)
    with transaction.atomic():
        level = stock_level_lock(sku=sku, warehouse=warehouse)
        if not level.buckets:
            return level
        before = level.buckets
        buckets_remove(level.pk)
        sku_change_record(sku=sku, actor=actor, changes={_field(warehouse): [before, 0]})
        level.refresh_from_db()
        return level
