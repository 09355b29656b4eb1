"""Split stock for hot SKUs: a stock level's free units spread over N StockBucket rows.

Lock order (extends the global one of inventory.services): a stock level before its buckets, buckets in pk
order. Everything that moves units between a level and its buckets or changes the layout (split, merge,
gather, spread, settling bucketed reservations) holds the level's lock first; the reservation fast path
holds exactly one bucket and nothing else, so it can wait for those but never be part of a wait cycle.

Only free units move: a bucket keeps the units of the reservations made from it until they are released
or shipped (or until a merge adds bucket and reservations to the level row).
"""

import random

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from inventory.feed import level_update, nudge_publisher
from inventory.models import Reservation, StockBucket, StockLevel, StockMovement
from ordersync.sql import db_table

MAX_BUCKETS = 64


def level_totals(level_pk: int) -> tuple[int, int]:
    """(on_hand, reserved) of a stock level summed over the row and its buckets, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.on_hand + COALESCE(SUM(b.on_hand), 0), l.reserved + COALESCE(SUM(b.reserved), 0) "
            f"FROM {db_table(StockLevel)} l LEFT JOIN {db_table(StockBucket)} b ON b.stock_level_id = l.id "
            "WHERE l.id = %s GROUP BY l.id",
            [level_pk],
        )
        on_hand, reserved = cursor.fetchone()
    return on_hand, reserved


def _locked_buckets(level_pks) -> list[tuple[int, int, int, int]]:
    """[(pk, level pk, on_hand, reserved)] of the levels' buckets, locked in pk order (levels already locked)."""
    return list(
        StockBucket.objects.select_for_update().filter(stock_level_id__in=level_pks).order_by("pk")
        .values_list("pk", "stock_level_id", "on_hand", "reserved")
    )


def _bucket_add_on_hand(pk: int, units: int) -> None:
    # The version bump makes the feed re-read the bucket; the level row's own bump (level_update) nudges it.
    StockBucket.objects.filter(pk=pk).update(on_hand=F("on_hand") + units, version=F("version") + 1)


def buckets_gather(level_pks) -> dict[int, int]:
    """Moves every free unit of the levels' buckets to the level rows; returns {level pk: units moved}.

    The caller holds the levels' locks. Afterwards a level row's free units are all the level's free units,
    so the single-row code (exact planning on locked rows, on-hand changes) is exact for it.
    """
    moved: dict[int, int] = {}
    for pk, level_pk, on_hand, reserved in _locked_buckets(level_pks):
        if on_hand > reserved:
            _bucket_add_on_hand(pk, reserved - on_hand)
            moved[level_pk] = moved.get(level_pk, 0) + on_hand - reserved
    for level_pk in sorted(moved):
        level_update(level_pk, on_hand=moved[level_pk])
    return moved


def buckets_spread(level_pks) -> None:
    """Deals the free units of the split level rows out evenly over their buckets (caller holds the level
    locks; the buckets are locked here, in pk order, if gather has not already)."""
    by_level: dict[int, list[int]] = {}
    for pk, level_pk, _on_hand, _reserved in _locked_buckets(level_pks):
        by_level.setdefault(level_pk, []).append(pk)
    free = dict(
        StockLevel.objects.filter(pk__in=by_level).annotate(free=F("on_hand") - F("reserved"))
        .values_list("pk", "free")
    )
    for level_pk in sorted(by_level):
        buckets, units = by_level[level_pk], free[level_pk]
        if units <= 0:
            continue
        share, extra = divmod(units, len(buckets))
        for i, pk in enumerate(buckets):
            if share + (i < extra):
                _bucket_add_on_hand(pk, share + (i < extra))
        level_update(level_pk, on_hand=-units)


def buckets_create(level_pk: int, count: int) -> None:
    StockBucket.objects.bulk_create(StockBucket(stock_level_id=level_pk, index=i) for i in range(count))
    StockLevel.objects.filter(pk=level_pk).update(buckets=count)
    buckets_spread([level_pk])


def buckets_remove(level_pk: int) -> None:
    """Adds the buckets' units (free and reserved) to the level row and deletes them (level locked)."""
    rows = _locked_buckets([level_pk])
    level_update(level_pk, on_hand=sum(r[2] for r in rows), reserved=sum(r[3] for r in rows))
    StockBucket.objects.filter(pk__in=[r[0] for r in rows]).delete()
    StockLevel.objects.filter(pk=level_pk).update(buckets=0)


def buckets_settle(amounts: dict[int, int], *, on_hand_sign: int) -> set[int]:
    """Gives reserved units {bucket pk: units} back to their buckets (shipping also takes them off on_hand);
    returns the buckets that no longer exist (merged: the caller gives their units back to the level row).

    The caller holds the locks of the buckets' levels, so no merge can run between this and its fallback.
    """
    if not amounts:
        return set()
    if connection.vendor != "postgresql":  # SQLite (the dev default): one UPDATE per bucket
        return {pk for pk in sorted(amounts) if not StockBucket.objects.filter(pk=pk).update(
            reserved=F("reserved") - amounts[pk], on_hand=F("on_hand") + on_hand_sign * amounts[pk],
            version=F("version") + 1)}
    values = ", ".join(["(%s::bigint, %s::integer)"] * len(amounts))
    params: list = [on_hand_sign]
    for pk in sorted(amounts):
        params += [pk, amounts[pk]]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {db_table(StockBucket)} AS b SET reserved = b.reserved - v.qty, on_hand = b.on_hand + %s * v.qty, "
            f"version = b.version + 1 FROM (VALUES {values}) AS v (id, qty) WHERE b.id = v.id "
            "RETURNING b.id, b.version - 1 = b.published_version",
            params,
        )
        rows = cursor.fetchall()
    if any(was_clean for _pk, was_clean in rows):
        transaction.on_commit(nudge_publisher, robust=True)
    return set(amounts) - {pk for pk, _clean in rows}


def _bucket_sql(items: int, target: str) -> str:
    """The conditional UPDATE of one bucket (chosen by `target`) plus the reservation and ledger INSERTs, as
    one statement like inventory.reserving's single-row one; nothing is inserted if the bucket lacks units."""
    values = ", ".join(["(%s::bigint, %s::integer)"] * items)
    return f"""
        WITH upd AS (
            UPDATE {db_table(StockBucket)} SET reserved = reserved + %s, version = version + 1
            WHERE {target} AND on_hand - reserved >= %s
            RETURNING id, version - 1 = published_version AS was_clean
        ), items (line_id, quantity) AS (VALUES {values}),
        res AS (
            INSERT INTO {db_table(Reservation)} (order_id, order_line_id, stock_level_id, bucket_id, quantity, state,
                expires_at, release_reason, channel_id, created_at, updated_at)
            SELECT %s, items.line_id, %s, upd.id, items.quantity, %s, %s::timestamptz, '', %s::bigint, %s, %s
            FROM upd CROSS JOIN items
            RETURNING id, order_line_id, bucket_id, quantity
        ), mov AS (
            INSERT INTO {db_table(StockMovement)} (stock_level_id, sku_id, warehouse_id, kind, quantity,
                on_hand_delta, reserved_delta, reason, actor, reference, order_id, created_at)
            SELECT %s, %s, %s, %s, items.quantity, 0, items.quantity, '', %s,
                'order:' || %s::text || ' line:' || items.line_id::text, %s, %s
            FROM upd CROSS JOIN items
        )
        SELECT upd.was_clean, res.id, res.order_line_id, res.bucket_id, res.quantity FROM upd CROSS JOIN res
    """


_RANDOM = "stock_level_id = %s AND \"index\" = %s"
# SKIP LOCKED: a bucket another reserver holds is passed over rather than queued on; if every bucket with
# units is held, the caller's exact path (which waits for locks) decides.
_SWEEP = ("id = (SELECT id FROM {bucket} WHERE stock_level_id = %s AND on_hand - reserved >= %s "
          "ORDER BY \"index\" LIMIT 1 FOR UPDATE SKIP LOCKED)")


def reserve_in_bucket(*, order_id: int, level, items: list[tuple[int, int]], expires_at, actor: str,
                      channel_id: int | None) -> list[Reservation] | None:
    """Reserves items [(order_line_id, quantity)] of split `level` (a LevelRow) from one bucket: a random one,
    else the first free one in index order; None when neither has them (the caller plans again under locks)."""
    total = sum(qty for _line, qty in items)
    now = timezone.now()
    tail: list = []
    for line_id, qty in items:
        tail += [line_id, qty]
    tail += [order_id, level.pk, Reservation.State.ACTIVE, expires_at, channel_id, now, now]
    tail += [level.pk, level.sku_id, level.warehouse_id, StockMovement.Kind.RESERVE, actor, order_id, order_id, now]
    attempts = [
        (_RANDOM, [level.pk, random.randrange(level.buckets)]),
        (_SWEEP.format(bucket=db_table(StockBucket)), [level.pk, total]),
    ]
    for target, target_params in attempts:
        with connection.cursor() as cursor:
            cursor.execute(_bucket_sql(len(items), target), [total, *target_params, total, *tail])
            rows = cursor.fetchall()
        if rows:
            break
    else:
        return None
    if rows[0][0]:
        transaction.on_commit(nudge_publisher, robust=True)
    reservations = []
    for _clean, pk, line_id, bucket_id, qty in rows:
        reservation = Reservation(pk=pk, order_id=order_id, order_line_id=line_id, stock_level_id=level.pk,
                                  bucket_id=bucket_id, quantity=qty, state=Reservation.State.ACTIVE,
                                  expires_at=expires_at, channel_id=channel_id, created_at=now, updated_at=now)
        reservation._state.adding = False
        reservation._state.db = connection.alias
        reservations.append(reservation)
    return reservations
