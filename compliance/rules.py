"""Evaluating the active rules against an order: pure functions of the order, its lines and the rules.

A failure's detail names SKUs, fields and countries but never a customer's data, because it is copied into the
order's hold reason and its status history, which erasure does not touch."""

from dataclasses import asdict, dataclass

import phonenumbers

from compliance.models import REQUIRED_FIELD_CHOICES, ComplianceRule, country_problem
from orders.money import money_str

Kind = ComplianceRule.Kind


@dataclass(frozen=True)
class Failure:
    rule: int
    version: int
    kind: str
    code: str
    subject: str  # the SKU or field it is about ("" for the whole order): with rule and code, what a person decided
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def key(self) -> tuple:
        return (self.rule, self.code, self.subject)


def active_rules() -> list[ComplianceRule]:
    """Every active rule, in one query (its result is immutable input to `evaluate`, safe to cache)."""
    return list(ComplianceRule.objects.filter(active=True).order_by("id"))


def destination(order) -> str:
    return str((order.shipping_address or {}).get("country") or "").strip().upper()


def _phone_valid(order, country: str) -> bool:
    numbers = [order.customer_phone, (order.shipping_address or {}).get("phone")]
    for number in filter(None, (str(n).strip() for n in numbers)):
        try:
            parsed = phonenumbers.parse(number, country or None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed) and (
            not country or phonenumbers.region_code_for_number(parsed) == country
        ):
            return True
    return False


def _field_present(order, field: str) -> bool:
    if field.startswith("shipping_address."):
        return bool(str((order.shipping_address or {}).get(field.split(".", 1)[1]) or "").strip())
    return bool(str(getattr(order, field) or "").strip())


def _required(rule, order, country: str):
    if rule.countries and country not in rule.countries:
        return
    for field in rule.required_fields:
        if field == "phone":
            if not _phone_valid(order, country):
                yield "invalid_phone", field, f"a valid phone number for {country or 'the destination'} is required"
        elif field == "country":
            if not country:
                yield "missing_field", field, "a destination country is required"
            elif country_problem(country):
                yield "invalid_country", field, f"destination {country[:10]!r} is not an ISO 3166-1 country"
        elif not _field_present(order, field):
            yield "missing_field", field, f"{field} ({REQUIRED_FIELD_CHOICES[field]}) is required"


def _check(rule: ComplianceRule, order, lines, country: str):
    """(code, subject, detail) for each way the order breaks the rule."""
    quantities: dict[str, int] = {}
    for line in lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    if rule.kind == Kind.BLOCKED_COUNTRY:
        if country in rule.countries and (not rule.sku or rule.sku in quantities):
            what = f"{rule.sku} to" if rule.sku else "orders to"
            yield "destination_blocked", rule.sku, f"{what} {country} are blocked"
    elif rule.kind == Kind.MAX_QUANTITY:
        if quantities.get(rule.sku, 0) > rule.max_quantity:
            yield ("quantity_exceeded", rule.sku,
                   f"{rule.sku}: quantity {quantities[rule.sku]} exceeds the limit of {rule.max_quantity} per order")
    elif rule.kind == Kind.VALUE_REVIEW:
        if order.currency == rule.currency and order.total >= rule.threshold:
            yield ("value_review", "",
                   f"total {money_str(order.total, order.currency)} {order.currency} reaches the review threshold "
                   f"{money_str(rule.threshold, rule.currency)}")
    elif rule.kind == Kind.REQUIRED_FIELDS:
        yield from _required(rule, order, country)
    elif rule.kind == Kind.AGE_RESTRICTED:
        if rule.sku in quantities and not order.age_verified:
            yield "age_verification_required", rule.sku, f"{rule.sku} needs an age-verified order from the channel"


def evaluate(*, order, lines, rules) -> list[Failure]:
    """Every failing rule for the order, in rule order."""
    country = destination(order)
    return [
        Failure(rule=rule.pk, version=rule.version, kind=rule.kind, code=code, subject=subject, detail=detail)
        for rule in rules
        for code, subject, detail in _check(rule, order, lines, country)
    ]


def hold_reason(failures: list[Failure]) -> str:
    return "compliance: " + "; ".join(f.detail for f in failures)
