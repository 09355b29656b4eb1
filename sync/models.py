"""The transactional outbox: events are written in the caller's transaction, delivered after commit."""

import uuid

from django.db import models


class Endpoint(models.Model):
    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        STOCK = "stock", "Stock / warehouse"
        LOGISTICS = "logistics", "Logistics"
        NOTIFICATION = "notification", "Notification"
        CHANNEL = "channel", "Sales channel"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    url = models.URLField(max_length=500, blank=True, help_text="Where signed webhooks go; empty for a handler.")
    # An in-process subscriber (sync.handlers): its deliveries run this registered function instead of a POST.
    handler = models.CharField(max_length=100, blank=True, help_text="Registered handler, e.g. notifications.email.")
    handler_options = models.JSONField(default=dict, blank=True, help_text="Settings the handler reads.")
    secret = models.CharField(max_length=100, help_text="Standard Webhooks signing secret (whsec_...).")
    topics = models.JSONField(default=list, help_text='Topics it receives: exact ("order.paid"), "order.*" or "*".')
    active = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    connect_timeout = models.FloatField(default=3.0, help_text="Seconds to open the connection.")
    read_timeout = models.FloatField(default=10.0, help_text="Seconds to wait for the answer.")
    rate_limit = models.FloatField(null=True, blank=True, help_text="Requests per second; empty = unlimited.")
    max_concurrency = models.PositiveSmallIntegerField(
        default=16, help_text="Deliveries in flight at once across all workers (and connections per worker).",
    )
    retry_schedule = models.JSONField(
        default=list, blank=True,
        help_text="Seconds to wait before each retry, e.g. [0, 5, 300]; empty = the default schedule.",
    )
    # Circuit breaker: `paused_until` in the future = open; past with failures = half-open (one probe).
    consecutive_failures = models.PositiveIntegerField(default=0)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True)
    # The next free slot under `rate_limit`, shared by every worker through this row.
    rate_slot_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(url="") & ~models.Q(handler="")) | (~models.Q(url="") & models.Q(handler="")),
                name="endpoint_url_xor_handler",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def subscribes_to(self, topic: str) -> bool:
        family = topic.split(".", 1)[0] + ".*"
        return any(t in ("*", topic, family) for t in self.topics)


class StreamCounter(models.Model):
    """Last sequence number handed out per stream ("order:42", "sku:ABC"); its row lock orders publishers."""

    key = models.CharField(max_length=200, primary_key=True)
    last_sequence = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}#{self.last_sequence}"


class Event(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    topic = models.CharField(max_length=100, db_index=True)
    # A soft reference: sync sits below orders in the dependency graph, so it cannot hold a foreign key to it.
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    stream = models.CharField(max_length=200)
    sequence = models.PositiveBigIntegerField()
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["stream", "sequence"], name="event_stream_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.topic} {self.stream}#{self.sequence}"


class Delivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_FLIGHT = "in_flight", "In flight"
        SUCCEEDED = "succeeded", "Succeeded"
        DEAD = "dead", "Dead"
        CANCELLED = "cancelled", "Cancelled"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # Copied from the event so "is an earlier delivery of this stream still open?" is one indexed query.
    stream = models.CharField(max_length=200)
    sequence = models.PositiveBigIntegerField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The claim (one token per claimed batch): a worker whose lease was taken back cannot overwrite the new owner's
    # result. It stays after the result is recorded; the sweeper clears it when it takes an expired lease back.
    lease_token = models.UUIDField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    first_attempt_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    end_to_end_latency_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_event_endpoint_unique")]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["endpoint", "stream", "sequence"], name="delivery_stream_idx"),
            models.Index(fields=["state", "lease_expires_at"], name="delivery_lease_idx"),
            # A drain's claim and its "what is due next" read walk only the endpoint's open rows.
            models.Index(fields=["endpoint", "next_attempt_at"], name="delivery_endpoint_due_idx",
                         condition=models.Q(state="pending")),
            models.Index(fields=["endpoint", "lease_expires_at"], name="delivery_endpoint_lease_idx",
                         condition=models.Q(state="in_flight")),
            # The console's list: each filter with its default order (-id), and the exact stream search.
            models.Index(fields=["state", "id"], name="delivery_state_list_idx"),
            models.Index(fields=["endpoint", "id"], name="delivery_endpoint_list_idx"),
            models.Index(fields=["stream"], name="delivery_stream_search_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.state})"


class DrainNudge(models.Model):
    """A drain task for this endpoint is queued to run at `due_at`: nudges coalesce into at most one pending drain
    per endpoint. The drain deletes the row when it starts; a row past `expires_at` means its message was lost and
    the sweeper sends another. Kept apart from Endpoint so publishers never wait on a claim's endpoint lock."""

    endpoint = models.OneToOneField(Endpoint, primary_key=True, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"drain {self.endpoint_id} at {self.due_at:%H:%M:%S}"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # A short excerpt of a non-2xx answer; nothing of a 2xx body is kept (it could be anything the URL serves).
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class OperatorAlert(models.Model):
    """Something an operator must look at: a dead delivery, a disabled or paused endpoint."""

    class Kind(models.TextChoices):
        DELIVERY_DEAD = "delivery_dead", "Delivery dead"
        ENDPOINT_DISABLED = "endpoint_disabled", "Endpoint disabled"
        ENDPOINT_PAUSED = "endpoint_paused", "Endpoint paused by the circuit breaker"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="alerts")
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.endpoint}"
