"""Pages of the console outside admin's own: the landing page at `/` and the dashboard."""

from django.contrib import admin
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _


def landing(request):
    links = [
        (reverse("admin:index"), _("Operator console"), _("orders, deliveries, dashboards (staff login)")),
        (reverse("api-docs"), _("API documentation"), _("the channel REST API, interactive")),
        (reverse("schema"), _("OpenAPI schema"), _("machine-readable")),
        (reverse("healthz"), _("Health"), _("process alive")),
        (reverse("readyz"), _("Readiness"), _("database and broker reachable")),
    ]
    return render(request, "console/landing.html", {"links": links})


def dashboard(request):
    from console import dashboard as figures

    series = figures.orders_per_hour()
    context = {
        **admin.site.each_context(request), "title": _("Dashboard"), "chart": mark_safe(figures.bars_svg(series)),
        "series_totals": {code: sum(values) for code, values in series.items()},
        "endpoints": figures.endpoint_health(), "stuck": figures.stuck_orders(), **figures.totals(),
    }
    return render(request, "admin/console/dashboard.html", context)


def forecast(request):
    """The forecast chart and capacity advice of `manage.py forecast` (7 days, every channel), fitted at most once
    per FORECAST_CACHE_SECONDS per process: a fit with its backtest takes seconds."""
    from console.forecast import forecast_figures

    context = {**admin.site.each_context(request), "title": _("Forecast and capacity"), **forecast_figures()}
    return render(request, "admin/console/forecast.html", context)
