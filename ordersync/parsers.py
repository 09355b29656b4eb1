import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers


class JSONParser(parsers.JSONParser):
    """DRF reads the request stream itself, bypassing Django's DATA_UPLOAD_MAX_MEMORY_SIZE check on
    `request.body`; this parser applies that limit (declared length first, then the bytes actually read).
    ordersync.api.exception_handler answers RequestDataTooBig with 413 payload_too_large."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            request = (parser_context or {}).get("request")
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
            if declared > limit:
                raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
            stream = io.BytesIO(body)
        return super().parse(stream, media_type, parser_context)
