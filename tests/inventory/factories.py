import factory

from inventory.models import Sku, Warehouse
from inventory.services import stock_receive


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Product {o.code}")
    track_inventory = True
    safety_stock = 0


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"wh-{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    priority = 100
    active = True


def stock(sku: Sku, warehouse: Warehouse, quantity: int):
    """Stock is only ever created through the service, so the ledger always explains it."""
    return stock_receive(sku_code=sku.code, warehouse_code=warehouse.code, quantity=quantity, actor="test")
