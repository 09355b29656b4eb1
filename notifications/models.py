"""Per-channel notification settings and the log of every notification (one row per event, medium, recipient)."""

from django.db import models

from notifications.events import CHANNEL_KINDS_THAT_NOTIFY, LANGUAGES, TOPICS


def default_events() -> list[str]:
    return list(TOPICS)


class ChannelNotificationSettings(models.Model):
    """A channel without a row gets `for_channel`'s defaults: every event, English, suppressed for Shopify."""

    channel = models.OneToOneField("channels_integration.Channel", on_delete=models.CASCADE,
                                   related_name="notification_settings")
    sender_name = models.CharField(max_length=100, blank=True, help_text="Shown as the sender; empty = channel name.")
    reply_to = models.EmailField(blank=True, help_text="Where customers' replies go; empty = the sender address.")
    default_language = models.CharField(
        max_length=10, blank=True, choices=list(LANGUAGES.items()),
        help_text="Used when the order's language has no templates; empty = English.",
    )
    events = models.JSONField(default=default_events, blank=True, help_text="Order events that email the customer.")
    channel_notifies_customers = models.BooleanField(
        default=False,
        help_text="The channel emails its customers itself (e.g. Shopify's order emails): record every notification "
                  "as suppressed and send nothing.",
    )
    tracking_urls = models.JSONField(
        default=dict, blank=True,
        help_text='Tracking page per carrier, e.g. {"DHL": "https://…?id={tracking_number}"}; adds to or overrides '
                  "the built-in carriers.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "channel notification settings"
        verbose_name_plural = "channel notification settings"

    def __str__(self) -> str:
        return f"notifications of {self.channel}"

    @classmethod
    def for_channel(cls, channel) -> "ChannelNotificationSettings":
        """The saved settings, or unsaved defaults derived from the channel's kind."""
        try:
            return channel.notification_settings
        except cls.DoesNotExist:
            return cls(channel=channel, channel_notifies_customers=channel.kind in CHANNEL_KINDS_THAT_NOTIFY)


class Notification(models.Model):
    class Medium(models.TextChoices):
        EMAIL = "email", "Email"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed"
        # The worker died after handing the message to the server and before recording the answer: it may or may
        # not have reached the customer. Never sent again automatically; an operator may resend.
        UNKNOWN = "unknown", "Outcome unknown"

    # Soft references, as sync keeps them: the order may be read, but the log outlives any order cleanup.
    order_id = models.BigIntegerField(db_index=True)
    order_number = models.CharField(max_length=20, db_index=True)
    channel_code = models.CharField(max_length=50)
    event_id = models.UUIDField(help_text="The sync event that caused it.")
    topic = models.CharField(max_length=100)
    medium = models.CharField(max_length=10, choices=Medium.choices, default=Medium.EMAIL)
    recipient = models.CharField(max_length=254, blank=True)
    language = models.CharField(max_length=10, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True, help_text="Why it failed or was suppressed.")
    attempts = models.PositiveIntegerField(default=0, help_text="Times it was handed to the mail server.")
    provider_message_id = models.CharField(max_length=255, blank=True, help_text="The Message-ID header we sent.")
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    # Set (committed) just before the message goes to the server, cleared when the attempt is recorded. A retry
    # that finds it set after `send_lease_until` knows an earlier worker died mid-send: the outcome is unknown.
    send_token = models.UUIDField(null=True, blank=True)
    send_lease_until = models.DateTimeField(null=True, blank=True)
    resend_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="resends")
    requested_by = models.CharField(max_length=150, blank=True, help_text="The operator who asked for a resend.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("resend_notification", "Can resend notifications to customers")]
        constraints = [
            # Once per event, medium and recipient; an operator's resend is a row of its own.
            models.UniqueConstraint(fields=["event_id", "medium", "recipient"], condition=models.Q(resend_of=None),
                                    name="notification_once_per_event"),
        ]
        # The console's list filters (console.lists.indexed_values_filter) read their choices from these.
        indexes = [models.Index(fields=["state", "created_at"], name="notification_state_idx"),
                   models.Index(fields=["topic", "created_at"], name="notification_topic_idx"),
                   models.Index(fields=["channel_code", "created_at"], name="notification_channel_idx"),
                   models.Index(fields=["language"], name="notification_language_idx")]

    def __str__(self) -> str:
        return f"{self.topic} {self.order_number} → {self.recipient or '(no recipient)'} ({self.state})"
