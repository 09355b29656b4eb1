"""Order errors with stable codes; the API maps them to the shared error shape unchanged."""

from rest_framework import status

from ordersync.api import ApiError, Conflict


class OrderNotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "No such order for this channel."


class UnknownTransition(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "unknown_transition"


class TransitionForbidden(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"


class InvalidTransition(Conflict):
    default_code = "invalid_transition"


class GuardFailed(Conflict):
    default_code = "guard_failed"


class ExternalIdConflict(Conflict):
    default_code = "duplicate_external_id"


class InsufficientStockError(Conflict):
    default_code = "insufficient_stock"


class UnknownSkuError(ApiError):
    default_code = "unknown_sku"


class InvalidOrder(ApiError):
    default_code = "invalid"
