from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from ordersync.api import ApiError


class OrderCursorPagination(CursorPagination):
    # Ordered by id: unique and immutable, so pages never skip or repeat an order while orders change.
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request):
        """A cursor this API did not issue names no page: 404 as in DRF, with a code of its own."""
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ApiError("cursor: not a cursor this API issued; use the `next`/`previous` links as given.",
                           code="invalid_cursor", status_code=404) from exc
