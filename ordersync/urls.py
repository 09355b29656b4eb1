from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from console.views import dashboard, forecast, landing
from ordersync.health import healthz, readyz
from ordersync.metrics import metrics_view

admin.site.site_header = "OrderSync operations"
admin.site.site_title = "OrderSync"
admin.site.index_template = "admin/console/index.html"  # the dashboard link first

api_v1 = [
    path("", include("orders.urls")),
    path("", include("inventory.urls")),
]

urlpatterns = [
    path("", landing, name="landing"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/dashboard/", admin.site.admin_view(dashboard), name="console-dashboard"),
    path("admin/dashboard/forecast/", admin.site.admin_view(forecast), name="console-forecast"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("", include("channels_integration.connectors.urls")),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path(
        "api/docs/",
        # The split view serves its start-up script as a file, which the Content-Security-Policy allows.
        SpectacularSwaggerSplitView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
]

if settings.ORDERSYNC_DEMO_RECEIVER:
    from sync.demo_receiver import demo_receiver

    urlpatterns.append(path("demo/receiver/<slug:name>/", demo_receiver, name="demo-receiver"))

# The API's error shape for API paths, Django's pages elsewhere (ordersync.api).
handler400 = "ordersync.api.bad_request"
handler403 = "ordersync.api.permission_denied"
handler404 = "ordersync.api.page_not_found"
handler500 = "ordersync.api.server_error"
