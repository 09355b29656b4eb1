"""Coalesced stock.changed events: a change marks its SKU dirty; a task publishes one event per dirty SKU.

A burst of changes to one SKU touches one StockFeedPending row, so the publisher sends one event for the
whole burst, computed from the numbers at publish time — the last event always carries the true value.
"""

import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from inventory.models import Sku, StockFeedPending

log = logging.getLogger(__name__)

STOCK_CHANGED = "stock.changed"


def stock_feed_mark(*, sku_ids: Iterable[int]) -> None:
    """Marks SKUs dirty inside the caller's transaction; nudges the publisher after commit when a row is new.

    Callers mark after taking their stock-level locks, in SKU pk order, so the pending rows are one more step
    of the same global lock order. An existing row means a publish is already due, so no nudge is sent.
    """
    ids = sorted(set(sku_ids))
    if not ids:
        return
    table = connection.ops.quote_name(StockFeedPending._meta.db_table)
    values = ", ".join(["(%s, %s)"] * len(ids))
    params = [p for sku_id in ids for p in (sku_id, timezone.now())]
    # xmax = 0 only on a freshly inserted row (PostgreSQL); elsewhere nudge every time, traffic is low there.
    returning = " RETURNING (xmax = 0)" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (sku_id, marked_at) VALUES {values} "
            f"ON CONFLICT (sku_id) DO UPDATE SET marked_at = excluded.marked_at{returning}",
            params,
        )
        inserted = any(row[0] for row in cursor.fetchall()) if returning else True
    if inserted:
        transaction.on_commit(nudge_publisher, robust=True)


def nudge_publisher(countdown: float | None = None) -> None:
    """Best effort: the beat schedule publishes anything a lost nudge leaves behind."""
    from inventory.tasks import publish_stock_changes

    try:
        publish_stock_changes.apply_async(countdown=countdown, retry=False)
    except Exception:  # a broker outage must not fail the stock change that already committed
        log.warning("could not nudge the stock feed publisher; the beat schedule will catch up", exc_info=True)


def stock_feed_publish(*, limit: int = 500) -> tuple[int, bool]:
    """Publishes one stock.changed event per pending SKU and clears those rows, in one transaction.

    Returns (events published, whether rows were left behind because other transactions held them).
    Rows being written right now are skipped (SKIP LOCKED) and stay pending for the next run.
    """
    from inventory.selectors import stock_totals
    from sync.services import event_publish

    with transaction.atomic():
        sku_ids = list(
            StockFeedPending.objects.select_for_update(skip_locked=True)
            .order_by("sku_id")
            .values_list("sku_id", flat=True)[:limit]
        )
        if not sku_ids:
            return 0, StockFeedPending.objects.exists()
        # Read after locking: any change that committed before our lock is in these numbers, and any change
        # still running re-creates its pending row once we delete it.
        totals = stock_totals(sku_ids=sku_ids)
        for sku in Sku.objects.filter(pk__in=sku_ids).order_by("pk"):
            on_hand, reserved, available = totals.get(sku.pk, (0, 0, 0))
            event_publish(
                topic=STOCK_CHANGED,
                stream=f"sku:{sku.code}",
                payload={
                    "sku": sku.code,
                    "available": available if sku.track_inventory else None,
                    "on_hand": on_hand,
                    "reserved": reserved,
                    "safety_stock": sku.safety_stock,
                    "track_inventory": sku.track_inventory,
                },
            )
        StockFeedPending.objects.filter(pk__in=sku_ids).delete()
    left_behind = StockFeedPending.objects.exclude(pk__in=sku_ids).exists()
    return len(sku_ids), left_behind
