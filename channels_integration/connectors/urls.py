"""Mounted at the site root (one include in ordersync/urls.py): webhook receivers and the SKU mapping API."""

from django.urls import path

from channels_integration.connectors import api, webhooks

urlpatterns = [
    path("webhooks/shopify/<str:channel_code>/", webhooks.shopify_webhook, name="webhook-shopify"),
    path("webhooks/woocommerce/<str:channel_code>/", webhooks.woocommerce_webhook, name="webhook-woocommerce"),
    path("api/v1/sku-mappings/", api.SkuMappingListView.as_view(), name="sku-mappings-list"),
    path("api/v1/sku-mappings/<str:sku>/", api.SkuMappingDetailView.as_view(), name="sku-mappings-detail"),
]
