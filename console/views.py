"""Pages of the console outside admin's own: the landing page at `/`."""

from django.shortcuts import render
from django.urls import reverse


def landing(request):
    links = [
        (reverse("admin:index"), "Operator console", "orders, deliveries, dashboards (staff login)"),
        (reverse("api-docs"), "API documentation", "the channel REST API, interactive"),
        (reverse("schema"), "OpenAPI schema", "machine-readable"),
        (reverse("healthz"), "Health", "process alive"),
        (reverse("readyz"), "Readiness", "database and broker reachable"),
    ]
    return render(request, "console/landing.html", {"links": links})
