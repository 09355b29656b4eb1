from django.urls import path, register_converter

from inventory import views


class AnyText:
    """Matches anything, '/' and newlines included, so every would-be SKU code reaches the view and gets the
    API's 400 with the SKU code rule instead of a routing 404."""

    regex = r"(?s:.+)"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyText, "anytext")

urlpatterns = [
    path("skus/<anytext:code>/", views.SkuDetailView.as_view(), name="sku-detail"),
    path("warehouses/", views.WarehouseListView.as_view(), name="warehouse-list"),
    path("stock/", views.StockView.as_view(), name="stock-list"),
    path("stock/<anytext:sku>/", views.StockDetailView.as_view(), name="stock-detail"),
]
