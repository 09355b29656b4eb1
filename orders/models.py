from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField

from orders.fsm import TRANSITION_PERMISSION_CODES, OrderLifecycle, Status, TransitionInput

MONEY = {"max_digits": 14, "decimal_places": 3}
# The order's amounts, all in its currency; stored with 3 decimals, always shown with the currency's own.
ORDER_AMOUNTS = ("subtotal", "shipping_total", "tax_total", "discount_total", "total")


class Order(ConcurrentTransitionMixin, OrderLifecycle, models.Model):
    channel = models.ForeignKey("channels_integration.Channel", on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=100, help_text="The channel's own order id; unique per channel.")
    number = models.CharField(max_length=20, unique=True)
    status = FSMField(max_length=20, choices=Status.choices, default=Status.NEW, protected=True, db_index=True)
    held_from = models.CharField(max_length=20, blank=True, help_text="Status to resume to when the hold is lifted.")
    hold_reason = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY)
    shipping_total = models.DecimalField(**MONEY, default=0)
    tax_total = models.DecimalField(**MONEY, default=0)
    discount_total = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY)
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField(max_length=254, blank=True)
    customer_phone = models.CharField(max_length=40, blank=True)
    language = models.CharField(max_length=10, default="en")
    shipping_address = models.JSONField(default=dict)
    billing_address = models.JSONField(default=dict)
    age_verified = models.BooleanField(default=False, help_text="The channel verified the customer's age.")
    placed_at = models.DateTimeField()
    payment_reference = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    # SHA-256 of the canonical ingest body: a resend with the same hash is a replay, a different one a conflict.
    body_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        permissions = TRANSITION_PERMISSION_CODES
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="order_channel_external_id_unique"),
            models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(fields=["channel", "updated_at", "id"], name="order_channel_updated_idx"),
            models.Index(fields=["channel", "status", "id"], name="order_channel_status_idx"),
            models.Index(fields=["placed_at"], name="order_placed_at_idx"),
            # The console's list: each filter with its default order (-id), and its exact searches.
            models.Index(fields=["status", "id"], name="order_status_list_idx"),
            models.Index(fields=["channel", "id"], name="order_channel_list_idx"),
            models.Index(fields=["external_id"], name="order_external_id_idx"),
            models.Index(fields=["customer_email"], name="order_customer_email_idx"),
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.transition_input = TransitionInput()

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    sku = models.CharField(max_length=64, help_text="Inventory SKU code (no foreign key: apps migrate independently).")
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    line_total = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["order_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="orderline_order_position_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="orderline_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class AppendOnlyError(Exception):
    pass


class OrderStatusChange(models.Model):
    """The audit trail: one row per status change, written in the transaction that made it. Never edited."""

    class ActorKind(models.TextChoices):
        USER = "user", "User"
        API_KEY = "api_key", "API key"
        CHANNEL = "channel", "Channel"
        SYSTEM = "system", "System"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    transition = models.CharField(max_length=40)
    actor = models.CharField(
        max_length=150, help_text='"api:<key prefix>", "user:<username>", "channel:<code>" or "system"'
    )
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "id"]
        indexes = [models.Index(fields=["order", "id"], name="statuschange_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '∅'} → {self.to_status} ({self.transition})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Order status changes are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Order status changes are append-only.")


class IdempotencyRecord(models.Model):
    """The stored answer to a POST carrying an Idempotency-Key, replayed verbatim for the same key."""

    api_key_prefix = models.CharField(max_length=16)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key_prefix", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.api_key_prefix}:{self.key}"
