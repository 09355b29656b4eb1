from django.urls import path

from orders.api import views

urlpatterns = [
    path("orders/", views.OrderListCreateView.as_view(), name="orders-list"),
    path("orders/bulk/", views.OrderBulkView.as_view(), name="orders-bulk"),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="orders-detail"),
    path("orders/<int:pk>/history/", views.OrderHistoryView.as_view(), name="orders-history"),
    path("orders/<int:pk>/transitions/<str:name>/", views.OrderTransitionView.as_view(), name="orders-transition"),
]
