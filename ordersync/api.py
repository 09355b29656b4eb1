"""One error shape for the whole API: {"code": <stable machine code>, "detail": <human text>, ...}.

Services raise `ApiError` subclasses (or Django/DRF errors); the exception handler turns every one of them
into that shape so channel developers can switch on `code` without parsing prose. Errors raised outside DRF
(the input guard middleware, Django's 400/403/404/500 pages) use the same shape on API paths.
"""

import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

# Paths answered by machines for machines: JSON errors, input guard, no caching (see ordersync.middleware).
API_PATH_PREFIXES = ("/api/", "/webhooks/")
# An error names what was wrong; it never sends a client's 100 KB back to it.
MAX_ERROR_TEXT = 300


class ApiError(exceptions.APIException):
    """A domain error with a stable code. Subclass it, or raise it with code/detail/status."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request could not be processed."

    def __init__(self, detail=None, *, code=None, status_code=None, extra=None):
        super().__init__(detail=detail, code=code)
        if status_code is not None:
            self.status_code = status_code
        self.code = code or self.default_code
        self.extra = extra or {}


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


_CODE_BY_DRF_CLASS = {
    exceptions.ParseError: "malformed_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid",
}


def first_message(errors) -> str:
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = first_message(value)
            return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(errors, list) and errors:
        return first_message(errors[0])
    return str(errors)


def bounded(value):
    """The error body with every string cut to MAX_ERROR_TEXT characters (detail, per-field messages, extras)."""
    if isinstance(value, str):
        return value if len(value) <= MAX_ERROR_TEXT else value[:MAX_ERROR_TEXT] + "… (truncated)"
    if isinstance(value, dict):
        return {bounded(k): bounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v) for v in value]
    return value


def exception_handler(exc, context):
    # Imported here: rest_framework.views loads the parser classes, and ordersync.parsers imports this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "code": "payload_too_large",
                "detail": "The request body is larger than this API accepts; send fewer orders per request.",
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, ApiError):
        body = {"code": exc.code, "detail": str(exc.detail), **exc.extra}
    elif isinstance(exc, exceptions.ValidationError):
        body = {"code": "invalid", "detail": first_message(exc.detail), "errors": exc.detail}
    else:
        code = next((c for cls, c in _CODE_BY_DRF_CLASS.items() if isinstance(exc, cls)), "error")
        body = {"code": code, "detail": str(exc.detail)}
    response.data = bounded(body)
    return response


class ApiKeyRateThrottle(SimpleRateThrottle):
    """One bucket per API key (by its public prefix), so one noisy integration cannot starve the others. The
    default throttle of every DRF view (REST_FRAMEWORK), so each channel-facing endpoint is covered unasked.

    Counts live in the default cache: configure CACHE_URL with Redis when running several web processes.
    """

    scope = "api_key"

    def get_rate(self):
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request, view):
        api_key = getattr(request.user, "api_key", None)
        if api_key is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.prefix}


# --- the OpenAPI schema -------------------------------------------------------------------------------------

COMMON_ERRORS = {
    "400": "Invalid input: `invalid`, `malformed_json`, `invalid_characters` (a control character in the path, "
           "query, a header or the body), ...",
    "401": "Missing, unknown or revoked API key (`not_authenticated`, `authentication_failed`)",
    "403": "The API key lacks a scope (`permission_denied`)",
    "429": "Too many requests for this API key (`throttled`); honour Retry-After",
}
BODY_ERRORS = {
    "413": "Body larger than the API accepts (`payload_too_large`)",
    "415": "Send `Content-Type: application/json` (`unsupported_media_type`)",
}
ERROR_COMPONENT = {
    "type": "object",
    "description": "The API's one error shape; some codes add fields (errors, field, skus, allowed, ...).",
    "properties": {"code": {"type": "string", "description": "Stable machine-readable code."},
                   "detail": {"type": "string", "description": "Human-readable explanation."}},
    "required": ["code", "detail"],
}


def document_common_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: every channel API operation documents the answers the shared layers
    (input guard, parser, authentication, throttle) can give, whether or not its view mentions them."""
    result.setdefault("components", {}).setdefault("schemas", {})["ApiError"] = ERROR_COMPONENT
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in item.values():
            errors = {**COMMON_ERRORS, **(BODY_ERRORS if "requestBody" in operation else {})}
            for code, description in errors.items():
                operation["responses"].setdefault(code, {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}},
                })
    return result


# --- outside DRF --------------------------------------------------------------------------------------------

def is_api_path(request) -> bool:
    return request.path_info.startswith(API_PATH_PREFIXES)


def error_response(status_code: int, code: str, detail: str, **extra) -> JsonResponse:
    return JsonResponse(bounded({"code": code, "detail": detail, **extra}), status=status_code)


# Django's error pages (ROOT_URLCONF handler400/403/404/500): the error shape on API paths, HTML elsewhere.

def bad_request(request, exception):
    if is_api_path(request):
        return error_response(400, "bad_request", "The request could not be understood (check the Host header "
                                                  "and the parameters).")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if is_api_path(request):
        return error_response(403, "permission_denied", "You may not do this.")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if is_api_path(request):
        return error_response(404, "not_found", "No such API endpoint; the paths are listed at /api/docs/.")
    return defaults.page_not_found(request, exception)


# While the database is unreachable (down, restarting, connection cut) a request fails with one of these; the
# client is told to retry instead of being shown a server error. Django calls handler500 inside its except block.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = "5"


def database_unavailable(request):
    if is_api_path(request):
        response = error_response(503, "database_unavailable", "The database is unreachable right now; nothing was "
                                                               "stored. Retry in a few seconds.")
    else:
        response = HttpResponse("The database is unreachable right now; retry in a few seconds.\n", status=503,
                                content_type="text/plain; charset=utf-8")
    response["Retry-After"] = DATABASE_RETRY_AFTER
    return response


def server_error(request):
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    if is_api_path(request):
        return error_response(500, "server_error", "Something went wrong on our side and was logged; retry later "
                                                   "or tell the operator.")
    return defaults.server_error(request)
