"""The input guard of every API and webhook path, in one place so no endpoint (today's or a future one) can miss it.

- Path, query string and headers holding control characters are refused with 400 `invalid_characters` before
  any view runs: PostgreSQL refuses NUL in text (a 500 otherwise) and the rest are invisible look-alikes.
- JSON bodies get the same strict parsing as the DRF parser (ordersync.parsers) also in plain Django views,
  which parse `request.body` themselves — except views marked `@raw_body` (signed webhooks): their body is
  stored as received after the signature check and judged there, so a malformed one is kept, not lost.
- Answers are marked `Cache-Control: no-store`: they carry customers' names and addresses, which no proxy or
  browser cache should keep.
"""

import re

from django.core.exceptions import RequestDataTooBig
from django.utils.cache import add_never_cache_headers
from rest_framework.exceptions import APIException
from rest_framework.views import APIView

from ordersync.api import error_response, is_api_path
from ordersync.parsers import JSONParser, invalid_characters, json_loads_strict, media_type_of

# C0 and C1 controls and DEL. Header values arrive as latin-1, where bytes of UTF-8 text fall in the C1 range,
# so headers are checked for C0 (tab allowed) and DEL only.
URL_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _url_problem(request):
    if bad := URL_CONTROL.search(request.path_info):
        return invalid_characters("The path", bad.group())
    for name, values in request.GET.lists():
        if bad := URL_CONTROL.search(name):
            return invalid_characters("A query parameter name", bad.group())
        for value in values:
            if bad := URL_CONTROL.search(value):
                return invalid_characters(f"The query parameter {name}", bad.group(), name)
    return None


def _header_problem(request):
    for key, value in request.META.items():
        if (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")) and isinstance(value, str):
            if bad := HEADER_CONTROL.search(value):
                name = key.removeprefix("HTTP_").replace("_", "-").title()
                return invalid_characters(f"The header {name}", bad.group(), name)
    return None


def _parses_strictly(view_func) -> bool:
    """DRF views whose every parser is ours check the body themselves when (and only if) they read it."""
    view_class = getattr(view_func, "cls", None)
    return (isinstance(view_class, type) and issubclass(view_class, APIView)
            and all(issubclass(parser, JSONParser) for parser in view_class.parser_classes))


def _as_response(exc: APIException):
    return error_response(exc.status_code, getattr(exc, "code", None) or "malformed_json", str(exc.detail),
                          **getattr(exc, "extra", {}))


def raw_body(view):
    """Marks a view that takes its body as raw bytes; the guard still checks its path, query and headers."""
    view.raw_body = True
    return view


class ApiInputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api_path(request):
            return self.get_response(request)
        problem = _url_problem(request) or _header_problem(request)
        response = _as_response(problem) if problem else self.get_response(request)
        if not request.path_info.startswith(("/api/schema/", "/api/docs/")):
            add_never_cache_headers(response)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not is_api_path(request) or _parses_strictly(view_func) or getattr(view_func, "raw_body", False):
            return None
        try:
            body = request.body
        except RequestDataTooBig:
            return error_response(413, "payload_too_large", "The request body is larger than this API accepts.")
        if not body:
            return None
        try:
            if media_type_of(request.content_type or "") == "application/json":
                json_loads_strict(body)
            elif b"\x00" in body:
                return _as_response(invalid_characters("The body", "\x00"))
        except APIException as exc:
            return _as_response(exc)
        return None
