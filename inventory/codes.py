"""The one SKU code pattern. The model, the inventory API, order lines and the OpenAPI schema all derive from it,
so a code that can be created can be ordered and the other way round.

ASCII letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters (the width of an
order line's `sku`). Spaces, control, zero-width and bidi characters, look-alike letters from other scripts and
markup are outside the set by construction; '/' is too, because codes travel in URL paths.
"""

import re

from django.core.validators import RegexValidator

SKU_CODE_MAX_LENGTH = 64
_BODY = rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{SKU_CODE_MAX_LENGTH - 1}}}"

# \A…\Z, not ^…$: `$` would also match before a trailing newline.
SKU_CODE_RE = re.compile(rf"\A{_BODY}\Z")
# The same pattern for JSON Schema / OpenAPI (ECMA-262, where `$` is the end of the string).
SKU_CODE_SCHEMA_PATTERN = f"^{_BODY}$"
SKU_CODE_RULE = (
    f"a SKU code is 1–{SKU_CODE_MAX_LENGTH} ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"
)

sku_code_validator = RegexValidator(SKU_CODE_RE, f"Not a valid SKU code: {SKU_CODE_RULE}.", code="invalid")


def is_sku_code(value) -> bool:
    return isinstance(value, str) and SKU_CODE_RE.match(value) is not None


def sku_code_problem(value) -> str | None:
    """Why `value` is not a SKU code (without echoing it: it may be 100 KB of anything), or None."""
    if is_sku_code(value):
        return None
    if not isinstance(value, str):
        return "must be a string."
    return f"not a valid SKU code: {SKU_CODE_RULE}."
