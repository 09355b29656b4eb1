"""Stock controls per channel, the stock-system kind, and the split of the catch-all `inventory` scope.

Every key that had `inventory` keeps reading availability (`inventory:read`). Only keys the stock ledger shows
adjusting or receiving stock (actor `api:<prefix>`) keep writing it (`inventory:write`), with the exception
recorded in `stock_write_reason` so an operator reviews each one; every other key loses write access.
"""

from django.db import migrations, models

OLD = "inventory"
READ, WRITE = "inventory:read", "inventory:write"
MIGRATED_REASON = "kept by migration 0002: this key changed stock before inventory:write existed; review it"
STOCK_WRITES = ("adjustment", "receipt")


def split_inventory_scope(apps, schema_editor):
    ApiKey = apps.get_model("channels_integration", "ApiKey")
    StockMovement = apps.get_model("inventory", "StockMovement")
    keys = [key for key in ApiKey.objects.order_by("pk") if OLD in key.scopes]
    if not keys:
        return
    writers = set(
        StockMovement.objects.filter(kind__in=STOCK_WRITES, actor__in=[f"api:{key.prefix}" for key in keys])
        .values_list("actor", flat=True).distinct()
    )
    for key in keys:
        scopes = set(key.scopes) - {OLD} | {READ}
        if f"api:{key.prefix}" in writers:
            scopes.add(WRITE)
            key.stock_write_reason = MIGRATED_REASON
        key.scopes = sorted(scopes)
        key.save(update_fields=["scopes", "stock_write_reason"])


def join_inventory_scopes(apps, schema_editor):
    ApiKey = apps.get_model("channels_integration", "ApiKey")
    for key in ApiKey.objects.order_by("pk"):
        if READ in key.scopes or WRITE in key.scopes:
            key.scopes = sorted(set(key.scopes) - {READ, WRITE} | {OLD})
            key.save(update_fields=["scopes"])


class Migration(migrations.Migration):

    dependencies = [
        ("channels_integration", "0001_initial"),
        # The scope split reads the stock ledger to find keys that wrote stock.
        ("inventory", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="channel",
            name="kind",
            field=models.CharField(
                choices=[("api", "REST API"), ("shopify", "Shopify"), ("woocommerce", "WooCommerce"),
                         ("stock", "Stock system (warehouse/ERP)")],
                default="api", max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="channel",
            name="reservation_ttl",
            field=models.DurationField(
                blank=True, null=True,
                help_text="Unpaid orders release their stock after this long; empty: the "
                "ORDERS_DEFAULT_RESERVATION_TTL setting.",
            ),
        ),
        migrations.AddField(
            model_name="channel",
            name="stock_buffer",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Units of every SKU kept out of this channel's availability view (on top of safety stock).",
            ),
        ),
        migrations.AddField(
            model_name="channel",
            name="allow_zero_price_orders",
            field=models.BooleanField(
                default=False, help_text="Otherwise orders totalling zero are held for review and reserve nothing."
            ),
        ),
        migrations.AddField(
            model_name="apikey",
            name="stock_write_reason",
            field=models.CharField(
                blank=True, max_length=200,
                help_text="Why this sales channel's key may write stock (create_api_key --allow-stock-write); "
                "operators review these.",
            ),
        ),
        migrations.RunPython(split_inventory_scope, join_inventory_scopes),
    ]
