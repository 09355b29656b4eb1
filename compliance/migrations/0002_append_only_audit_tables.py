"""The status history and the stock ledger refuse UPDATE and DELETE in the database itself (PostgreSQL), so no
code path, ORM bulk update or admin can change them. SQLite (`make run` without PostgreSQL) keeps the model guards."""

from django.db import migrations

TABLES = ("orders_orderstatuschange", "inventory_stockmovement")

FUNCTION = """
CREATE OR REPLACE FUNCTION ordersync_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END $$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        schema_editor.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                              "FOR EACH ROW EXECUTE FUNCTION ordersync_append_only()")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS ordersync_append_only()")


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0001_rules_holds_erasures"),
        ("orders", "0003_order_age_verified"),
        ("inventory", "0004_channel_allocations_and_sku_audit"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
