import pytest

from tests.inventory.factories import SkuFactory, WarehouseFactory


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="main", priority=10)


@pytest.fixture
def sku(db):
    return SkuFactory(code="HOT-1")
