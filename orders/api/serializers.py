"""Request and response shapes of the orders API; the OpenAPI schema is generated from these."""

import re
from datetime import UTC, datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.codes import SKU_CODE_RULE
from inventory.serializers import SkuCodeField
from orders.fsm import TRANSITIONS, Status
from orders.models import ORDER_AMOUNTS, OrderStatusChange
from orders.money import CURRENCY_EXPONENTS, decimals_of, money_str
from orders.services import BULK_MAX_ORDERS
from ordersync.api import ApiError
from ordersync.fields import StrictBooleanField, StrictIntegerField, Text

MAX_QUANTITY = 1_000_000
MAX_LINES = 200
# Lines across all orders of one bulk request. Ingest costs ~0.4 ms per line (measured on the 2-core reference VM:
# 10,000 lines took 3.5-4.2 s), so this bounds a bulk at about 2 s: it holds one web thread, never the process.
BULK_MAX_LINES = 5000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

MONEY_PATTERN = r"^[0-9]{1,11}(\.[0-9]{1,3})?$"
_MONEY_RE = re.compile(MONEY_PATTERN)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": MONEY_PATTERN, "example": "10.50"})
class Money(serializers.DecimalField):
    """A decimal string of ASCII digits and nothing else. A JSON number is a binary float ("0.1" is not 0.1), and
    Python's Decimal also reads other scripts' digits ("١٠" is 10): both would let two systems disagree on an
    amount that looks the same to each."""

    default_error_messages = {
        "not_a_decimal_string": 'Must be a decimal string of ASCII digits such as "10.50" (not a JSON number; no '
                                "sign, exponent or spaces).",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        super().__init__(max_digits=14, decimal_places=3, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _MONEY_RE.fullmatch(data):
            self.fail("not_a_decimal_string")
        return super().to_internal_value(data)


class SafeDateTimeField(serializers.DateTimeField):
    """Rejects dates outside 2000–2100 instead of overflowing when converted to UTC."""

    def to_internal_value(self, value):
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:
            self.fail("invalid", format="ISO 8601")
        if not EARLIEST <= parsed <= LATEST:
            raise serializers.ValidationError("Must be between 2000 and 2100.")
        return parsed


class AddressSerializer(serializers.Serializer):
    name = Text(max_length=200, required=False, allow_blank=True)
    company = Text(max_length=200, required=False, allow_blank=True)
    line1 = Text(max_length=200, required=False, allow_blank=True)
    line2 = Text(max_length=200, required=False, allow_blank=True)
    city = Text(max_length=100, required=False, allow_blank=True)
    postal_code = Text(max_length=20, required=False, allow_blank=True)
    region = Text(max_length=100, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False, help_text="ISO 3166-1 alpha-2")
    phone = Text(max_length=40, required=False, allow_blank=True)


class OrderLineInSerializer(serializers.Serializer):
    sku = SkuCodeField(help_text=f"Inventory SKU code: {SKU_CODE_RULE}.")
    name = Text(max_length=200, required=False, allow_blank=True)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY, help_text="A JSON integer.")
    unit_price = Money(help_text="Unit price in the order currency; no more decimals than the currency allows.")


class OrderInSerializer(serializers.Serializer):
    external_id = Text(max_length=100, help_text="Your order id; sending it again is a replay.")
    currency = serializers.ChoiceField(choices=sorted(CURRENCY_EXPONENTS), required=False,
                                       help_text="ISO 4217; defaults to the channel's currency.")
    customer_name = Text(max_length=200, required=False, allow_blank=True)
    customer_email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    customer_phone = Text(max_length=40, required=False, allow_blank=True)
    language = serializers.RegexField(r"^[a-z]{2}(-[A-Za-z]{2})?$", max_length=10, required=False)
    shipping_address = AddressSerializer(required=False)
    billing_address = AddressSerializer(required=False)
    placed_at = SafeDateTimeField(required=False, help_text="When the customer placed it; defaults to now.")
    age_verified = StrictBooleanField(required=False,
                                      help_text="The channel verified the customer's age (restricted SKUs need it).")
    shipping_total = Money(required=False)
    tax_total = Money(required=False)
    discount_total = Money(required=False)
    total = Money(required=False, help_text="Optional check: must equal lines + shipping + tax - discount.")
    lines = serializers.ListField(child=OrderLineInSerializer(), min_length=1, max_length=MAX_LINES)

    def validate(self, attrs):
        currency = attrs.get("currency") or self.context["channel"].currency
        if currency not in CURRENCY_EXPONENTS:
            raise serializers.ValidationError({"currency": f"The channel currency {currency} is not supported."})
        allowed = CURRENCY_EXPONENTS[currency]
        for key in ("shipping_total", "tax_total", "discount_total", "total"):
            if key in attrs and decimals_of(attrs[key]) > allowed:
                raise serializers.ValidationError({key: f"{currency} allows at most {allowed} decimals."})
        for i, line in enumerate(attrs["lines"]):
            if decimals_of(line["unit_price"]) > allowed:
                raise serializers.ValidationError(
                    {"lines": f"lines[{i}].unit_price: {line['unit_price']} has more decimals than {currency} "
                              f"allows ({allowed})."}
                )
        # No defaults here: what the client left out stays out, so it never enters the replay hash (order_ingest
        # fills currency and placed_at).
        return attrs


class BulkInSerializer(serializers.Serializer):
    orders = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=BULK_MAX_ORDERS,
        help_text=f"Up to {BULK_MAX_ORDERS} orders and {BULK_MAX_LINES} lines in all, each order shaped like the "
                  "body of POST /orders/.",
    )

    def validate_orders(self, orders):
        # Counted before any order is validated, so an oversized bulk costs a JSON parse and nothing more.
        lines = sum(len(o["lines"]) for o in orders if isinstance(o, dict) and isinstance(o.get("lines"), list))
        if lines > BULK_MAX_LINES:
            raise ApiError(
                f"orders: {lines} lines in one bulk request; at most {BULK_MAX_LINES} lines in all. "
                "Split it into smaller requests.",
                code="too_many_lines", status_code=413, extra={"max_lines": BULK_MAX_LINES},
            )
        return orders


def _money_out(**kwargs):
    return serializers.DecimalField(max_digits=14, decimal_places=3, read_only=True, **kwargs)


class OrderLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price = _money_out()
    line_total = _money_out()


TEXT_OUT = ("number", "external_id", "hold_reason", "cancel_reason", "currency", "customer_name", "customer_email",
            "customer_phone", "language", "payment_reference", "tracking_number", "carrier")
_DATETIME = serializers.DateTimeField()


class OrderSerializer(serializers.Serializer):
    """Declared field by field for the schema; rendered by hand because it is on every hot path (ingest,
    bulk, list) and DRF's generic field machinery costs more than the rest of a replay.

    context["lines"] ({order id: lines}) renders lines ingest has just written without reading them back."""

    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True, help_text="Channel code")
    external_id = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    hold_reason = serializers.CharField(read_only=True)
    cancel_reason = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    subtotal = _money_out()
    shipping_total = _money_out()
    tax_total = _money_out()
    discount_total = _money_out()
    total = _money_out(help_text="In the currency's own precision (JPY 1500, EUR 10.50, KWD 1.125).")
    customer_name = serializers.CharField(read_only=True)
    customer_email = serializers.CharField(read_only=True)
    customer_phone = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    shipping_address = AddressSerializer(read_only=True)
    billing_address = AddressSerializer(read_only=True)
    placed_at = serializers.DateTimeField(read_only=True)
    payment_reference = serializers.CharField(read_only=True)
    tracking_number = serializers.CharField(read_only=True)
    carrier = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    def to_representation(self, order):
        cur = order.currency
        data = {"id": order.pk, "channel": order.channel.code, "status": order.status}
        data.update((key, getattr(order, key)) for key in TEXT_OUT)
        data.update((key, money_str(getattr(order, key), cur)) for key in ORDER_AMOUNTS)
        data.update(
            shipping_address=order.shipping_address,
            billing_address=order.billing_address,
            placed_at=_DATETIME.to_representation(order.placed_at),
            created_at=_DATETIME.to_representation(order.created_at),
            updated_at=_DATETIME.to_representation(order.updated_at),
            lines=[
                {"id": line.pk, "position": line.position, "sku": line.sku, "name": line.name,
                 "quantity": line.quantity, "unit_price": money_str(line.unit_price, cur),
                 "line_total": money_str(line.line_total, cur)}
                for line in self.context.get("lines", {}).get(order.pk) or order.lines.all()
            ],
        )
        return data


class StatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderStatusChange
        fields = ["id", "from_status", "to_status", "transition", "actor", "actor_kind", "reason", "payload",
                  "created_at"]
        extra_kwargs = {"actor": {"help_text": '"api:<key prefix>", "channel:<code>", "system", or "operator" for '
                                               "a member of staff (whose name channels do not see)."}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.actor_kind == OrderStatusChange.ActorKind.USER:
            data["actor"] = "operator"
        return data


class TransitionInSerializer(serializers.Serializer):
    """One body for every transition; which fields are required depends on the transition (its `required`)."""

    reason = Text(max_length=500, required=False, help_text="Required for cancel, hold, refund.")
    amount = Money(required=False, help_text="pay: the captured amount; must equal the order total.")
    currency = serializers.ChoiceField(choices=sorted(CURRENCY_EXPONENTS), required=False, help_text="pay")
    payment_reference = Text(max_length=100, required=False, allow_blank=True, help_text="pay")
    tracking_number = Text(max_length=100, required=False, help_text="Required for ship.")
    carrier = Text(max_length=100, required=False, allow_blank=True, help_text="ship")

    def validate(self, attrs):
        name = self.context["transition"]
        missing = [f for f in TRANSITIONS[name].required if f not in attrs]
        if missing:
            raise serializers.ValidationError({f: f"Required for {name}." for f in missing})
        if "amount" in attrs:
            currency = attrs.get("currency")
            if currency is None:
                raise serializers.ValidationError({"currency": "Required with amount."})
            if decimals_of(attrs["amount"]) > CURRENCY_EXPONENTS[currency]:
                raise serializers.ValidationError(
                    {"amount": f"{currency} allows at most {CURRENCY_EXPONENTS[currency]} decimals."})
            attrs["amount"] = str(attrs["amount"])
        return attrs


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid_transition.")
    detail = serializers.CharField(help_text="Human-readable explanation naming the field or state.")


@extend_schema_field({"type": "object", "properties": {"index": {"type": "integer"}, "status": {"type": "integer"},
                                                       "body": {"type": "object"}}})
class BulkItemField(serializers.JSONField):
    pass


class BulkOutSerializer(serializers.Serializer):
    results = serializers.ListField(child=BulkItemField())

