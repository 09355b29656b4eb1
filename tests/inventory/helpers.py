from inventory.models import StockLevel
from inventory.reconcile import allocation_drift, stock_drift


def level(sku, warehouse) -> tuple[int, int]:
    row = StockLevel.objects.get(sku=sku, warehouse=warehouse)
    return row.on_hand, row.reserved


def assert_no_drift():
    drifts = [*stock_drift(), *allocation_drift()]
    assert drifts == [], [d.describe() for d in drifts]
