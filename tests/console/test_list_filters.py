"""Every list filter offered in the console either has fixed choices (choices, booleans, dates, empty/not empty,
relations) or reads its choices through an index (console.lists.indexed_values_filter); only configuration tables,
which stay small, may list their distinct values with a plain DISTINCT. And every log that grows with orders
stops counting at the cap."""

import pytest
from django.contrib import admin
from django.contrib.admin.filters import AllValuesFieldListFilter, FieldListFilter
from django.contrib.admin.utils import get_fields_from_path

from console.lists import CappedCountPaginator
from inventory.models import Reservation, SkuChange, StockMovement, Warehouse
from notifications.models import Notification

CONFIGURATION = {Warehouse}
GROWING_LOGS = {Notification, StockMovement, Reservation, SkuChange}


def _default_filter(model, name: str):
    field = get_fields_from_path(model, name)[-1]
    return next(factory for test, factory in FieldListFilter._field_list_filters if test(field))


def _leads_an_index(model, column: str) -> bool:
    fields = {f.column: f for f in model._meta.concrete_fields}
    if column in fields and (fields[column].db_index or fields[column].unique):
        return True
    return any(model._meta.get_field(index.fields[0].lstrip("-")).column == column for index in model._meta.indexes)


@pytest.mark.parametrize("model, model_admin", list(admin.site._registry.items()),
                         ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_filter_choices_never_scan_a_growing_table(model, model_admin):
    for entry in model_admin.list_filter:
        if isinstance(entry, str):
            assert _default_filter(model, entry) is not AllValuesFieldListFilter or model in CONFIGURATION, (
                f"{model.__name__}.{entry}: Django lists its choices with SELECT DISTINCT over the whole table; "
                "use console.lists.indexed_values_filter with an index on the column")
        elif getattr(entry, "column", None):
            assert _leads_an_index(entry.model, entry.column), (
                f"{model.__name__}: the filter on {entry.model.__name__}.{entry.column} needs an index led by it")


@pytest.mark.parametrize("model", sorted(GROWING_LOGS, key=lambda m: m.__name__), ids=lambda m: m.__name__)
def test_growing_logs_stop_counting_at_the_cap(model):
    model_admin = admin.site._registry[model]
    assert model_admin.paginator is CappedCountPaginator and model_admin.show_full_result_count is False
