"""The dashboard's forecast: the analytics report as an inline SVG chart and its text, cached per process."""

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.safestring import mark_safe

from analytics.forecasting import InsufficientHistory
from analytics.plots import forecast_chart
from analytics.services import forecast_report
from analytics.text import report_lines

CACHE_KEY = "console:forecast:{hour}"


def forecast_figures() -> dict:
    """{"chart": svg, "lines": [...]} or {"missing": what the forecast needs}; cached within the hour."""
    key = CACHE_KEY.format(hour=timezone.now().strftime("%Y%m%d%H"))
    figures = cache.get(key)
    if figures is None:
        try:
            report = forecast_report(days=7)
        except InsufficientHistory as exc:
            figures = {"missing": f"{exc} Load demo data with `manage.py seed_history --days 120`."}
        else:
            svg = forecast_chart(report, format="svg").decode()
            figures = {"chart": svg[svg.index("<svg"):], "lines": report_lines(report)}
        cache.set(key, figures, getattr(settings, "FORECAST_CACHE_SECONDS", 900))
    if "chart" in figures:
        figures = {**figures, "chart": mark_safe(figures["chart"])}  # matplotlib's own SVG, no user input
    return figures
