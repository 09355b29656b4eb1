"""Compliance rules as data, the audit of their edits, the holds they caused, and erasures of personal data.

Every write goes through compliance.services (rules, holds) or compliance.personal_data (erasure)."""

import re
from decimal import Decimal

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from inventory.codes import sku_code_problem
from orders.models import MONEY
from orders.money import CURRENCY_EXPONENTS, fits_currency

# What a required-fields rule may ask for. "phone" is a phone number (customer_phone, else the shipping
# address's) that phonenumbers accepts as valid for the destination; "country" an ISO 3166-1 destination.
REQUIRED_FIELD_CHOICES = {
    "phone": "a valid phone number for the destination",
    "country": "an ISO 3166-1 destination country",
    "customer_email": "the customer's email",
    "customer_name": "the customer's name",
    "shipping_address.line1": "street address",
    "shipping_address.city": "city",
    "shipping_address.postal_code": "postal code",
    "shipping_address.region": "region / state",
}


def country_problem(code) -> str | None:
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{2}", code) or not pycountry.countries.get(alpha_2=code):
        return f"{str(code)[:10]!r} is not an ISO 3166-1 alpha-2 country code."
    return None


class ComplianceRule(models.Model):
    class Kind(models.TextChoices):
        BLOCKED_COUNTRY = "blocked_country", "Destination blocked (for a SKU or every SKU)"
        MAX_QUANTITY = "max_quantity", "Maximum quantity of a SKU per order"
        VALUE_REVIEW = "value_review", "Manual review at or above an order value (per currency)"
        REQUIRED_FIELDS = "required_fields", "Required fields for destinations"
        AGE_RESTRICTED = "age_restricted", "SKU needs an age-verified order"

    # Per kind: the parameters it needs; every other parameter must stay empty, so a rule says exactly what it does.
    PARAMETERS = {
        Kind.BLOCKED_COUNTRY: {"required": ("countries",), "optional": ("sku",)},
        Kind.MAX_QUANTITY: {"required": ("sku", "max_quantity"), "optional": ()},
        Kind.VALUE_REVIEW: {"required": ("currency", "threshold"), "optional": ()},
        Kind.REQUIRED_FIELDS: {"required": ("required_fields",), "optional": ("countries",)},
        Kind.AGE_RESTRICTED: {"required": ("sku",), "optional": ()},
    }
    ALL_PARAMETERS = ("sku", "countries", "max_quantity", "currency", "threshold", "required_fields")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    active = models.BooleanField(default=True)
    sku = models.CharField(max_length=64, blank=True, help_text="A SKU code; blank = every SKU (blocked countries).")
    countries = models.JSONField(default=list, blank=True,
                                 help_text='ISO 3166-1 alpha-2 codes, e.g. ["US", "CA"]. Required fields: blank = '
                                           "every destination.")
    max_quantity = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    threshold = models.DecimalField(**MONEY, null=True, blank=True,
                                    help_text="Orders with a total at or above this (in `currency`) are reviewed.")
    required_fields = models.JSONField(default=list, blank=True,
                                       help_text="Required fields: " + ", ".join(REQUIRED_FIELD_CHOICES) + ".")
    # Bumped on every saved change; a hold records the version of each rule it failed.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "id"]
        indexes = [models.Index(fields=["active"], name="compliancerule_active_idx")]

    def __str__(self) -> str:
        return self.name

    def _empty(self, field: str) -> bool:
        return getattr(self, field) in (None, "", [])

    def clean(self):
        errors: dict[str, str] = {}
        spec = self.PARAMETERS.get(self.kind)
        if spec is None:
            raise ValidationError({"kind": f"Unknown kind {self.kind!r}."})
        for field in spec["required"]:
            if self._empty(field):
                errors[field] = f"Required for a {self.get_kind_display().lower()} rule."
        for field in set(self.ALL_PARAMETERS) - set(spec["required"]) - set(spec["optional"]):
            if not self._empty(field):
                errors[field] = "Not used by this kind of rule; leave it empty."
        if self.sku and "sku" not in errors and (problem := sku_code_problem(self.sku)):
            errors["sku"] = problem
        if not self._empty("countries") and "countries" not in errors:
            errors.update(self._countries_error())
        if self.currency and "currency" not in errors and self.currency not in CURRENCY_EXPONENTS:
            known = ", ".join(sorted(CURRENCY_EXPONENTS))
            errors["currency"] = f"Unknown currency {self.currency[:10]!r}; known: {known}."
        if self.threshold is not None and "threshold" not in errors:
            errors.update(self._threshold_error())
        if not self._empty("required_fields") and "required_fields" not in errors:
            values = self.required_fields if isinstance(self.required_fields, list) else [self.required_fields]
            unknown = [str(v)[:40] for v in values if v not in REQUIRED_FIELD_CHOICES]
            if unknown or not isinstance(self.required_fields, list):
                errors["required_fields"] = (f"Unknown field(s) {', '.join(map(repr, unknown))}; "
                                    f"choose from {', '.join(REQUIRED_FIELD_CHOICES)}.")
        if self.max_quantity == 0 and "max_quantity" not in errors:
            errors["max_quantity"] = "Must be at least 1 (block the SKU with a blocked-country rule instead)."
        if errors:
            raise ValidationError(errors)

    def _countries_error(self) -> dict:
        if not isinstance(self.countries, list):
            return {"countries": 'A list of country codes, e.g. ["US", "CA"].'}
        problems = [p for code in self.countries if (p := country_problem(code))]
        return {"countries": " ".join(problems)} if problems else {}

    def _threshold_error(self) -> dict:
        if not isinstance(self.threshold, Decimal) or not self.threshold.is_finite() or self.threshold <= 0:
            return {"threshold": "Must be an amount greater than 0."}
        if self.currency in CURRENCY_EXPONENTS and not fits_currency(self.threshold, self.currency):
            return {"threshold": f"{self.currency} allows at most {CURRENCY_EXPONENTS[self.currency]} decimals."}
        return {}


class RuleChange(models.Model):
    """Who created or changed a rule, and each field's [before, after] (before is null on creation)."""

    rule = models.ForeignKey(ComplianceRule, on_delete=models.PROTECT, related_name="changes")
    version = models.PositiveIntegerField(help_text="The rule's version after the change.")
    actor = models.CharField(max_length=150)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    changes = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.version} by {self.actor}"


class ComplianceHold(models.Model):
    """One evaluation that failed: the order was put on hold with every failing rule, as the rules were then.

    `failures` is a snapshot ([{rule, version, kind, code, detail}]), so editing or switching off a rule later never
    changes what this hold says; the order's release or cancellation is recorded here by the operator's service."""

    class Stage(models.TextChoices):
        INGEST = "ingest", "At ingest"
        FULFILMENT = "fulfilment", "Before fulfilment"

    class Decision(models.TextChoices):
        PENDING = "pending", "Pending"
        RELEASED = "released", "Released"
        CANCELLED = "cancelled", "Cancelled"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="compliance_holds")
    stage = models.CharField(max_length=10, choices=Stage.choices)
    failures = models.JSONField()
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decision_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("decide_compliancehold", "Can release or cancel orders held by compliance rules")]
        indexes = [models.Index(fields=["order", "decision"], name="compliancehold_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} ({self.stage}, {self.decision})"


class Erasure(models.Model):
    """That a customer's personal data was erased (or aged out by retention), when and by whom. It names the
    customer only by a hash of the email, so the record itself holds no personal data."""

    email_sha256 = models.CharField(max_length=64, db_index=True)
    actor = models.CharField(max_length=150)
    forced = models.BooleanField(default=False)
    counts = models.JSONField(help_text="Rows anonymised per model.")
    order_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"erasure by {self.actor} at {self.created_at:%Y-%m-%d %H:%M}"
