from django.urls import path

from orders.api import views

# Ids are matched as strings so a malformed id gets the API's JSON 404 rather than Django's HTML page.

urlpatterns = [
    path("orders/", views.OrderListCreateView.as_view(), name="orders-list"),
    path("orders/bulk/", views.OrderBulkView.as_view(), name="orders-bulk"),
    path("orders/<str:pk>/", views.OrderDetailView.as_view(), name="orders-detail"),
    path("orders/<str:pk>/history/", views.OrderHistoryView.as_view(), name="orders-history"),
    path("orders/<str:pk>/transitions/<str:name>/", views.OrderTransitionView.as_view(), name="orders-transition"),
]
