"""Turns split stock on (`--buckets N`) or off (`--merge`) for one SKU in one warehouse; safe while orders flow."""

from django.core.management.base import BaseCommand, CommandError

from inventory.buckets import level_totals
from inventory.errors import InventoryError
from inventory.splitting import stock_merge, stock_split


class Command(BaseCommand):
    help = "Spread a hot SKU's stock in one warehouse over N rows (split stock), or merge it back into one row."

    def add_arguments(self, parser):
        parser.add_argument("sku")
        parser.add_argument("warehouse")
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--buckets", type=int, help="Split into this many buckets (2-64).")
        mode.add_argument("--merge", action="store_true", help="Back to the single row.")
        parser.add_argument("--actor", default="system:stock_split", help="Recorded in the SKU's change history.")

    def handle(self, *args, sku, warehouse, buckets=None, merge=False, actor, **options):
        try:
            if merge:
                level = stock_merge(sku_code=sku, warehouse_code=warehouse, actor=actor)
            else:
                level = stock_split(sku_code=sku, warehouse_code=warehouse, buckets=buckets, actor=actor)
        except InventoryError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        on_hand, reserved = level_totals(level.pk)
        layout = f"{level.buckets} buckets" if level.buckets else "one row"
        self.stdout.write(f"{sku}@{warehouse}: {layout}; on hand {on_hand}, reserved {reserved}.")
