"""Issue 16 item 1: existing keys' catch-all `inventory` scope is split by a data migration.

Every key keeps reading availability (`inventory:read`); only a key the stock ledger shows writing stock keeps
`inventory:write`, and that exception is recorded on the key, so integrations that wrote stock keep working and
an operator can review each one."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

APP = "channels_integration"
BEFORE = (APP, "0001_initial")


def _migrate(targets):
    # The state after the plan, with every migration still applied: going back to BEFORE also unapplies the other
    # apps' migrations that depend on a later one of ours (the console's index migrations).
    return MigrationExecutor(connection).migrate(targets).apps


def _leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_inventory_scope_becomes_read_and_write_only_where_the_ledger_shows_writes():
    latest = _leaves()
    before = [BEFORE]
    apps = _migrate(before)
    Channel = apps.get_model(APP, "Channel")
    ApiKey = apps.get_model(APP, "ApiKey")
    StockMovement = apps.get_model("inventory", "StockMovement")
    channel = Channel.objects.create(code="shop", name="Shop")
    reader = ApiKey.objects.create(channel=channel, prefix="osk_reader", secret_hash="x",
                                   scopes=["inventory", "orders:read"])
    writer = ApiKey.objects.create(channel=channel, prefix="osk_writer", secret_hash="x", scopes=["inventory"])
    orders_only = ApiKey.objects.create(channel=channel, prefix="osk_orders", secret_hash="x",
                                        scopes=["orders:write"])
    StockMovement.objects.create(stock_level_id=1, sku_id=1, warehouse_id=1, kind="adjustment", quantity=-1,
                                 on_hand_delta=-1, reserved_delta=0, reason="count", actor="api:osk_writer")
    # A reservation made through the key's orders is not a stock write.
    StockMovement.objects.create(stock_level_id=1, sku_id=1, warehouse_id=1, kind="reserve", quantity=1,
                                 on_hand_delta=0, reserved_delta=1, actor="api:osk_reader")

    apps = _migrate(latest)
    ApiKey = apps.get_model(APP, "ApiKey")
    keys = {k.prefix: k for k in ApiKey.objects.all()}
    assert keys[reader.prefix].scopes == ["inventory:read", "orders:read"]
    assert keys[reader.prefix].stock_write_reason == ""
    assert keys[writer.prefix].scopes == ["inventory:read", "inventory:write"]
    assert "migration" in keys[writer.prefix].stock_write_reason
    assert keys[orders_only.prefix].scopes == ["orders:write"]

    apps = _migrate(before)
    ApiKey = apps.get_model(APP, "ApiKey")
    assert {k.prefix: k.scopes for k in ApiKey.objects.all()} == {
        "osk_reader": ["inventory", "orders:read"], "osk_writer": ["inventory"], "osk_orders": ["orders:write"],
    }
    _migrate(latest)
