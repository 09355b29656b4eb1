"""Every changelist registered on admin.site (so a new ModelAdmin is measured too) costs the same number of
queries with one story of data as with three: no per-row queries. Each list must show rows while measured."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.console.seed import story

CHANGELISTS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize(("model", "model_admin"), CHANGELISTS, ids=[m._meta.label for m, _a in CHANGELISTS])
def test_changelist_queries_do_not_grow_with_rows(client, admin_user, model, model_admin):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    client.force_login(admin_user)

    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries), response.context["cl"].result_list

    story(0)
    few, shown = measure()
    assert len(shown) >= 1, f"the story seeds no {model._meta.label}"
    story(1)
    story(2)
    many, shown_many = measure()
    assert len(shown_many) > len(shown), f"the stories add no {model._meta.label}"
    assert many == few, f"{model._meta.label}: {few} queries with {len(shown)} rows, {many} with {len(shown_many)}"
