"""The one way API bodies become data: strict JSON, and only when the client says application/json.

`json_loads_strict` refuses what json.loads lets through and what later breaks or misleads: duplicate keys
(json.loads keeps the last one silently; another system may keep the first), NaN/Infinity, nesting deeper than
any real body (a 1,000-level body ends in RecursionError somewhere downstream), and control characters or lone
surrogates in any key or string (PostgreSQL refuses NUL in text; the others are invisible look-alikes). Tab,
newline and carriage return stay allowed in strings: free text such as a reason may hold them.

The DRF parser uses it for every API view; ordersync.middleware applies it to JSON bodies of plain Django views
on API and webhook paths, so a view cannot forget it.
"""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, parsers
from rest_framework.negotiation import DefaultContentNegotiation

from ordersync.api import ApiError

# An order is four levels deep, a bulk request five: 32 leaves room for any real body and none for abuse.
MAX_JSON_DEPTH = 32
# C0 and C1 control characters, DEL and lone surrogates; \t \n \r are allowed in body strings.
BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# A parsed string can only hold one of those if the text has it raw (C1 and DEL may appear raw in JSON strings)
# or as a \u escape: a body with neither skips checking every string.
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class InvalidCharacters(ApiError):
    default_code = "invalid_characters"


def printable(text: str) -> str:
    """`text` with control characters and lone surrogates written as escapes, safe to show back."""
    return BODY_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def invalid_characters(where: str, char: str, field: str | None = None) -> InvalidCharacters:
    return InvalidCharacters(
        f"{printable(where)} contains U+{ord(char):04X}, a control character or lone surrogate; send printable "
        "text only.",
        extra={"field": printable(field)} if field is not None else None,
    )


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _DuplicateKey(duplicate)
    return obj


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _path(parent: str, key) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def _check_tree(data, *, check_text: bool) -> None:
    """Depth, and the characters of every key and string, iteratively (the point is to survive deep input)."""
    if isinstance(data, str):
        if check_text and (bad := BODY_CONTROL.search(data)):
            raise invalid_characters("The body", bad.group())
        return
    stack = [(data, "", 1)] if isinstance(data, dict | list) else []
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise exceptions.ParseError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.")
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(item, dict | list):
                stack.append((item, _path(where, key), depth + 1))
            elif check_text and isinstance(item, str) and (bad := BODY_CONTROL.search(item)):
                path = _path(where, key)
                raise invalid_characters(path, bad.group(), path)
            if check_text and isinstance(key, str) and (bad := BODY_CONTROL.search(key)):
                path = _path(where, key)
                raise invalid_characters(f"The key {path}", bad.group(), path)


def json_loads_strict(raw: bytes, *, parse_float=float):
    """Parsed JSON, or ParseError (code malformed_json) / InvalidCharacters (code invalid_characters).
    `parse_float=Decimal` for payloads whose money arrives as JSON numbers (channel webhooks)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise exceptions.ParseError("The body is not UTF-8 encoded JSON.") from exc
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_refuse_constant,
                          parse_float=parse_float)
    except _DuplicateKey as exc:
        raise exceptions.ParseError(f"The key {exc.args[0]!r} appears twice in one object; send it once.") from exc
    except RecursionError as exc:
        raise exceptions.ParseError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.") from exc
    except ValueError as exc:
        if bad := BODY_CONTROL.search(text):
            raise invalid_characters("The body", bad.group()) from exc
        raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
    _check_tree(data, check_text="\\u" in text or _RAW_CONTROL.search(text) is not None)
    return data


class JSONParser(parsers.JSONParser):
    """Strict JSON (json_loads_strict) within DATA_UPLOAD_MAX_MEMORY_SIZE: DRF reads the request stream itself,
    bypassing Django's check on `request.body`, so the limit is applied here (declared length first, then the
    bytes actually read). ordersync.api.exception_handler answers RequestDataTooBig with 413."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            return {}
        if limit is not None:
            request = (parser_context or {}).get("request")
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
            if declared > limit:
                raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        else:
            body = stream.read()
        return json_loads_strict(body)


def media_type_of(content_type: str) -> str:
    """`Application/JSON; charset=utf-8` -> `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


class ExactMediaTypeNegotiation(DefaultContentNegotiation):
    """DRF matches `Content-Type: */*` (or application/*) to the JSON parser; a body is parsed only when the
    client names the parser's media type exactly, anything else is 415 unsupported_media_type."""

    def select_parser(self, request, parsers):
        media_type = media_type_of(request.content_type or "")
        return next((parser for parser in parsers if parser.media_type == media_type), None)

