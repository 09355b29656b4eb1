from django.urls import path

from inventory import views

urlpatterns = [
    path("skus/<str:code>/", views.SkuDetailView.as_view(), name="sku-detail"),
    path("warehouses/", views.WarehouseListView.as_view(), name="warehouse-list"),
    path("stock/", views.StockView.as_view(), name="stock-list"),
    path("stock/<str:sku>/", views.StockDetailView.as_view(), name="stock-detail"),
]
