from inventory.buckets import level_totals
from inventory.models import StockLevel
from inventory.reconcile import allocation_drift, bucket_drift, stock_drift


def level(sku, warehouse) -> tuple[int, int]:
    """(on_hand, reserved) of the level, its buckets included when split."""
    return level_totals(StockLevel.objects.get(sku=sku, warehouse=warehouse).pk)


def assert_no_drift():
    drifts = [*stock_drift(), *bucket_drift(), *allocation_drift()]
    assert drifts == [], [d.describe() for d in drifts]
