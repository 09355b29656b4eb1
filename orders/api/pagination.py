from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from ordersync.api import ApiError

MAX_ID = 2**63 - 1


def id_from_text(text: str) -> int | None:
    """An order id as it appears in a path or cursor: ASCII digits within PostgreSQL's bigint, else None."""
    return int(text) if text.isascii() and text.isdigit() and int(text) <= MAX_ID else None


def invalid_cursor() -> ApiError:
    return ApiError("cursor: not a cursor this API issued; use the `next`/`previous` links as given.",
                    code="invalid_cursor", status_code=404)


class OrderCursorPagination(CursorPagination):
    # Ordered by id: unique and immutable, so pages never skip or repeat an order while orders change.
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request):
        """A cursor this API did not issue names no page: 404 as in DRF, with a code of its own. DRF checks the
        offset and direction but hands the position (an order id here) to the query as it came."""
        try:
            decoded = super().decode_cursor(request)
        except NotFound as exc:
            raise invalid_cursor() from exc
        if decoded is not None and decoded.position is not None and id_from_text(decoded.position) is None:
            raise invalid_cursor()
        return decoded
