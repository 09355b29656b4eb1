"""The canonical order a channel adapter produces, and the strict-but-forgiving readers adapters build it with.

Required fields missing or of the wrong type raise `PayloadError` naming the field (the message fails with that
sentence); optional ones may be absent or null. Money is read from strings (or exact JSON numbers, parsed as
Decimal) and never passes through float. Ids are 64-bit integers kept as strings.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

MAX_CHANNEL_ID = 2**63 - 1
# The orders API's limits (orders.api.serializers); longer text from a channel is cut, not refused.
ADDRESS_LIMITS = {"name": 200, "company": 200, "line1": 200, "line2": 200, "city": 100, "postal_code": 20,
                  "region": 100, "phone": 40}


class PayloadError(Exception):
    """The payload lacks something an order needs; `field` says where."""

    def __init__(self, field: str, problem: str = "is required"):
        self.field = field
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class ChannelState:
    """Where the channel says the order stands; applied forward-only (see connectors.ordering)."""

    paid: bool = False
    fulfilled: bool = False
    cancelled: bool = False
    refunded: bool = False
    reason: str = ""  # why it was cancelled or refunded, in the channel's words
    payment_reference: str = ""
    tracking_number: str = ""
    carrier: str = ""


@dataclass(frozen=True)
class ChannelLine:
    sku: str  # "" when the channel sent none
    name: str
    quantity: int
    unit_price: Decimal
    product_id: int | None = None
    variant_id: int | None = None


@dataclass(frozen=True)
class ChannelOrder:
    external_id: str
    source_updated_at: datetime
    currency: str
    placed_at: datetime
    lines: list[ChannelLine]
    state: ChannelState
    channel_total: Decimal | None = None
    shipping_total: Decimal = Decimal(0)
    tax_total: Decimal = Decimal(0)
    discount_total: Decimal = Decimal(0)
    customer_name: str = ""
    customer_email: str = ""
    customer_phone: str = ""
    language: str = ""
    shipping_address: dict = field(default_factory=dict)
    billing_address: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Refund:
    external_id: str
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class Identity:
    """What the receiver stores about a delivery before anything is processed."""

    topic: str
    dedupe_key: str
    external_id: str = ""
    event_id: str = ""
    triggered_at: str = ""


def body_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def required(data: dict, key: str, where: str = ""):
    value = data.get(key) if isinstance(data, dict) else None
    if value is None or value == "":
        raise PayloadError(f"{where}{key}")
    return value


def channel_id(value, name: str) -> str:
    """A channel's 64-bit id (JSON number or digit string) as text; bools and floats are refused."""
    if isinstance(value, bool) or value is None:
        raise PayloadError(name, "must be an integer id")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 < value <= MAX_CHANNEL_ID:
        raise PayloadError(name, f"must be a positive 64-bit integer id, got {value!r}")
    return str(value)


def optional_id(value) -> int | None:
    try:
        return int(channel_id(value, "id"))
    except PayloadError:
        return None


def money(value, name: str, *, required_: bool = False) -> Decimal:
    if value is None or value == "":
        if required_:
            raise PayloadError(name)
        return Decimal(0)
    if isinstance(value, bool) or isinstance(value, float):
        # JSON bodies are parsed with Decimal for floats; a float here would already have lost cents.
        raise PayloadError(name, f"must be a decimal string, got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise PayloadError(name, f"must be a decimal amount, got {value!r}") from exc
    if not amount.is_finite():
        raise PayloadError(name, f"must be a decimal amount, got {value!r}")
    return amount


def quantity(value, name: str) -> int:
    if isinstance(value, bool) or value is None:
        raise PayloadError(name, "must be a whole number")
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int):
        raise PayloadError(name, f"must be a whole number, got {value!r}")
    return value


def line_items(order: dict, build) -> list[ChannelLine]:
    """`order["line_items"]` as lines: `build(where, item, count)` maps one; lines of quantity 0 (removed by an
    edit) are left out, and an order must keep at least one."""
    items = order.get("line_items")
    if not isinstance(items, list) or not items:
        raise PayloadError("line_items", "must list at least one line")
    lines = []
    for i, item in enumerate(items):
        where = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise PayloadError(where, "must be an object")
        count = quantity(required(item, "quantity", f"{where}."), f"{where}.quantity")
        if count > 0:
            lines.append(build(where, item, count))
    if not lines:
        raise PayloadError("line_items", "has no line with a positive quantity")
    return lines


def timestamp(value, name: str, *, assume_utc: bool = False) -> datetime:
    """ISO 8601; a value without offset is UTC when `assume_utc` (WooCommerce's *_gmt fields)."""
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(name)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError(name, f"is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        if not assume_utc:
            raise PayloadError(name, f"has no UTC offset: {value!r}")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def text(value, limit: int) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()[:limit]


def joined(*parts, limit: int = 200) -> str:
    return text(" ".join(str(p).strip() for p in parts if p and str(p).strip()), limit)


def address(**fields) -> dict:
    """The orders API's address shape; empty values are left out, long ones cut to the API's limits."""
    out = {}
    for key, value in fields.items():
        if key == "country":
            code = text(value, 2).upper()
            if len(code) == 2 and code.isalpha() and code.isascii():
                out["country"] = code
            continue
        cleaned = text(value, ADDRESS_LIMITS[key])
        if cleaned:
            out[key] = cleaned
    return out


def language(value) -> str:
    """"de-DE", "de_de" or "de" → a tag the orders API accepts; anything else → "" (the default applies)."""
    tag = text(value, 10).replace("_", "-")
    head, _, region = tag.partition("-")
    if len(head) != 2 or not head.isalpha() or not head.isascii():
        return ""
    if len(region) == 2 and region.isalpha() and region.isascii():
        return f"{head.lower()}-{region.upper()}"
    return head.lower()
