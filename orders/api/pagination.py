from rest_framework.pagination import CursorPagination


class OrderCursorPagination(CursorPagination):
    # Ordered by id: unique and immutable, so pages never skip or repeat an order while orders change.
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
