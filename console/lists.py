"""Changelist parts that keep big lists (orders, deliveries, inbound messages) cheap: a paginator that never counts
a whole table and a filter whose choices come from an index instead of a DISTINCT over every row."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

from ordersync.sql import db_table

# Rows a list counts exactly; past this many it reports an estimate (unfiltered) or this cap (filtered).
COUNT_CAP = 10_000


def estimated_rows(model) -> int:
    """The planner's row estimate for the model's table (pg_class.reltuples, kept by ANALYZE and autovacuum)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return max(row[0], 0) if row else 0


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows (COUNT over a LIMIT subquery, so an index scan that stops early). A bigger
    unfiltered list reports the table's estimated size; a bigger filtered one reports COUNT_CAP and pages up to it:
    narrow it with a filter or a search to see further."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        bounded = queryset.order_by()[: COUNT_CAP + 1].count()
        if bounded <= COUNT_CAP:
            return bounded
        if not queryset.query.where:
            return max(estimated_rows(queryset.model), bounded)
        return COUNT_CAP


def distinct_values(model, column: str) -> list[str]:
    """Every distinct value of an indexed column by a loose index scan (one index probe per value): a plain
    DISTINCT reads the whole table or index."""
    table = db_table(model)
    col = connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE v(x) AS (SELECT min({col}) FROM {table} "  # noqa: S608  names from _meta, not input
            f"UNION ALL SELECT (SELECT min({col}) FROM {table} WHERE {col} > v.x) FROM v WHERE v.x IS NOT NULL) "
            "SELECT x FROM v WHERE x IS NOT NULL"
        )
        return [row[0] for row in cursor.fetchall()]


def indexed_values_filter(*, model, column: str, lookup: str, title: str):
    """A list filter on `lookup` whose choices are the distinct values of `model.column` (which must be the first
    column of an index), read by distinct_values."""

    class IndexedValuesFilter(admin.SimpleListFilter):
        parameter_name = lookup

        def lookups(self, request, model_admin):
            return [(value, value) for value in distinct_values(model, column)]

        def queryset(self, request, queryset):
            value = self.value()
            return queryset.filter(**{lookup: value}) if value else queryset

    IndexedValuesFilter.title = title
    IndexedValuesFilter.model, IndexedValuesFilter.column = model, column
    return IndexedValuesFilter

