"""Stock-level writes and the coalesced stock.changed feed they drive.

Every change to a stock level goes through `level_update`, one UPDATE that also bumps the row's `version`.
A row with version > published_version has changes no event has carried yet. The publisher reads the
numbers and versions of dirty SKUs in one snapshot, publishes one event per SKU and records the versions it
published; a burst of 1,000 changes between two runs therefore becomes one event with the final numbers.

Who makes sure a dirty row gets published: the change that turned a clean row dirty nudges the publisher
after commit (the UPDATE's RETURNING tells it); a publisher that finds a row changed again while it worked,
or a SKU another publisher holds, nudges itself again; the beat schedule catches anything a lost nudge
missed. No extra statement and no extra lock is added to the hot reservation path.
"""

import logging
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from inventory.models import Sku, StockBucket, StockLevel
from ordersync.sql import db_table

log = logging.getLogger(__name__)

STOCK_CHANGED = "stock.changed"


def level_update(level_pk: int, *, on_hand: int = 0, reserved: int = 0, require_free: int | None = None) -> bool:
    """Applies deltas to one stock level; with `require_free` only if that many units are free (no oversell).

    Returns whether the row matched. Must run inside the caller's transaction; the row stays locked until
    it commits, which is why callers update levels in pk order.
    """
    table = db_table(StockLevel)
    condition = " AND on_hand - reserved >= %s" if require_free is not None else ""
    params = [on_hand, reserved, timezone.now(), level_pk]
    if require_free is not None:
        params.append(require_free)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET on_hand = on_hand + %s, reserved = reserved + %s, version = version + 1, "
            f"updated_at = %s WHERE id = %s{condition} RETURNING version - 1 = published_version",
            params,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    if row[0]:
        transaction.on_commit(nudge_publisher, robust=True)
    return True


def levels_reserve(amounts: dict[int, int]) -> bool:
    """Adds `amounts` {level pk: units} to reserved in one statement, each level only if it has them free.

    Returns whether every level matched. The caller must already hold the rows' locks (taken in pk order):
    a multi-row UPDATE locks in whatever order its plan visits the rows. Elsewhere (SQLite, the dev default)
    one UPDATE per level.
    """
    if connection.vendor != "postgresql":
        return all([level_update(pk, reserved=amounts[pk], require_free=amounts[pk]) for pk in sorted(amounts)])
    table = db_table(StockLevel)
    values = ", ".join(["(%s::bigint, %s::integer)"] * len(amounts))
    params: list = [timezone.now()]
    for level_pk in sorted(amounts):
        params += [level_pk, amounts[level_pk]]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS l SET reserved = l.reserved + v.qty, version = l.version + 1, updated_at = %s "
            f"FROM (VALUES {values}) AS v (id, qty) WHERE l.id = v.id AND l.on_hand - l.reserved >= v.qty "
            "RETURNING l.version - 1 = l.published_version",
            params,
        )
        rows = cursor.fetchall()
    if any(was_clean for (was_clean,) in rows):
        transaction.on_commit(nudge_publisher, robust=True)
    return len(rows) == len(amounts)


def levels_touch(levels) -> None:
    """Marks levels dirty without changing numbers (safety stock or warehouse status changed)."""
    for level_pk in levels.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True):
        level_update(level_pk)


def nudge_publisher(countdown: float | None = None) -> None:
    """Best effort: the beat schedule publishes anything a lost nudge leaves behind."""
    from inventory.tasks import publish_stock_changes

    try:
        publish_stock_changes.apply_async(countdown=countdown, retry=False)
    except Exception:  # a broker outage must not fail the stock change that already committed
        log.warning("could not nudge the stock feed publisher; the beat schedule will catch up", exc_info=True)


def _mark_published(level_pk: int, version: int, model=StockLevel) -> bool:
    """Records `version` as published; returns whether the row (a level or a bucket) changed again meanwhile."""
    table = db_table(model)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET published_version = %s WHERE id = %s AND published_version < %s RETURNING version",
            [version, level_pk, version],
        )
        row = cursor.fetchone()
    return row is not None and row[0] > version


def stock_feed_publish(*, limit: int = 500) -> tuple[int, bool]:
    """Publishes one stock.changed event per dirty SKU (at most `limit`) in one transaction.

    Returns (events published, whether work is left: rows changed again, SKUs held by another publisher,
    or more than `limit` dirty SKUs). The caller re-runs soon when work is left.
    """
    from sync.services import event_publish

    dirty = {
        *StockLevel.objects.filter(version__gt=F("published_version"))
        .order_by("sku_id").values_list("sku_id", flat=True).distinct()[: limit + 1],
        *StockBucket.objects.filter(version__gt=F("published_version"))
        .order_by("stock_level__sku_id").values_list("stock_level__sku_id", flat=True).distinct()[: limit + 1],
    }
    if not dirty:
        return 0, False
    with transaction.atomic():
        # One publisher per SKU at a time, or an older snapshot could be published after a newer one.
        # NO KEY UPDATE does not block the key-share locks that reservers' foreign keys take.
        skus = list(
            Sku.objects.select_for_update(skip_locked=True, no_key=True).filter(pk__in=sorted(dirty)[:limit])
            .order_by("pk")
        )
        # Read after locking, in one statement: the numbers published and the versions recorded agree.
        levels = list(
            StockLevel.objects.filter(sku__in=skus).order_by("pk")
            .values_list("pk", "sku_id", "on_hand", "reserved", "version", "published_version", "warehouse__active")
        )
        # Split stock: buckets are read after their levels. Units only move between a level and its buckets
        # in a transaction that bumps both versions, so a move seen half leaves a row dirty to publish again.
        buckets = list(
            StockBucket.objects.filter(stock_level__sku__in=skus).order_by("pk")
            .values_list("pk", "stock_level__sku_id", "on_hand", "reserved", "version", "published_version",
                         "stock_level__warehouse__active")
        )
        totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for _pk, sku_id, on_hand, reserved, _v, _p, active in [*levels, *buckets]:
            if active:
                totals[sku_id][0] += on_hand
                totals[sku_id][1] += reserved
        for sku in skus:
            on_hand, reserved = totals[sku.pk]
            available = max(on_hand - reserved - sku.safety_stock, 0)
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
        changed_again = [
            _mark_published(pk, version, model) for model, rows in ((StockLevel, levels), (StockBucket, buckets))
            for pk, _s, _o, _r, version, published, _a in rows if version > published
        ]
    return len(skus), any(changed_again) or len(skus) < len(dirty)
