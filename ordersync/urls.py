from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ordersync.health import healthz, readyz

admin.site.site_header = "OrderSync operations"
admin.site.site_title = "OrderSync"

api_v1 = [
    path("", include("orders.urls")),
    path("", include("inventory.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("channels_integration.connectors.urls")),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
]

if settings.ORDERSYNC_DEMO_RECEIVER:
    from sync.demo_receiver import demo_receiver

    urlpatterns.append(path("demo/receiver/<slug:name>/", demo_receiver, name="demo-receiver"))
