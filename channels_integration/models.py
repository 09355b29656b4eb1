"""The channel foundation (Channel, ApiKey) and what the channel connectors keep: inbound messages, per-order
channel state, SKU mappings and reconciliation progress.

Imports no other app: orders and inventory import this module. Orders are referenced by string.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use an ISO 4217 code such as EUR.")


class Channel(models.Model):
    class Kind(models.TextChoices):
        API = "api", "REST API"
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        # Not a sales channel: the warehouse/ERP principal whose keys own the catalog and stock numbers.
        STOCK = "stock", "Stock system (warehouse/ERP)"

    class StockPolicy(models.TextChoices):
        HOLD = "hold", "Accept and put on hold"
        REJECT = "reject", "Reject the order"

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.API)
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    active = models.BooleanField(default=True)
    insufficient_stock_policy = models.CharField(max_length=10, choices=StockPolicy.choices, default=StockPolicy.HOLD)
    reservation_ttl = models.DurationField(
        null=True, blank=True,
        help_text="Unpaid orders release their stock after this long; empty: the ORDERS_DEFAULT_RESERVATION_TTL "
        "setting.",
    )
    stock_buffer = models.PositiveIntegerField(
        default=0, help_text="Units of every SKU kept out of this channel's availability view (on top of safety stock)."
    )
    allow_zero_price_orders = models.BooleanField(
        default=False, help_text="Otherwise orders totalling zero are held for review and reserve nothing."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Connection to the channel's own API and webhooks. Kept in clear: verifying a signature and calling the API
    # need the secret itself. Shown once by create_channel; admin shows a prefix only.
    webhook_secret = models.CharField(max_length=200, blank=True, help_text="HMAC key the channel signs webhooks with.")
    shop_domain = models.CharField(
        max_length=255, blank=True,
        help_text="Shopify: the store's myshopify.com domain (or a full http(s) base URL for a local test shop).",
    )
    store_url = models.URLField(max_length=255, blank=True, help_text="WooCommerce: the store's base URL.")
    api_token = models.CharField(
        max_length=255, blank=True,
        help_text="Shopify: Admin API access token. WooCommerce: consumer_key:consumer_secret.",
    )
    reconcile_interval = models.DurationField(
        null=True, blank=True, help_text="How often orders are reconciled with the channel; empty = the default."
    )
    # Signatures that did not verify: counted, never stored (anyone can post to a webhook URL).
    webhook_rejections = models.PositiveBigIntegerField(default=0)
    webhook_last_rejected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    @property
    def is_sales_channel(self) -> bool:
        return self.kind != self.Kind.STOCK

    @property
    def api_base_url(self) -> str:
        """Where the channel's REST API lives; empty when the channel has no API connection."""
        if self.kind == self.Kind.SHOPIFY and self.shop_domain:
            base = self.shop_domain if "://" in self.shop_domain else f"https://{self.shop_domain}"
            return base.rstrip("/")
        if self.kind == self.Kind.WOOCOMMERCE and self.store_url:
            return self.store_url.rstrip("/")
        return ""

    @property
    def has_api_credentials(self) -> bool:
        return bool(self.api_base_url and self.api_token)


class ApiKey(models.Model):
    """A channel's credential. Only a SHA-256 of the secret is kept: keys are random, so no slow hash is needed."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True, help_text="Shown to identify the key; not secret.")
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    stock_write_reason = models.CharField(
        max_length=200, blank=True,
        help_text="Why this sales channel's key may write stock (create_api_key --allow-stock-write); operators "
        "review these.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["channel_id", "created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.channel.code})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class InboundMessage(models.Model):
    """A webhook (or a reconciled order) exactly as the channel sent it, and what processing made of it."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        DEFERRED = "deferred", "Deferred (waiting for its order)"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        RECONCILE = "reconcile", "Reconciliation"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="inbound_messages")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEBHOOK)
    topic = models.CharField(max_length=100)
    # The channel's own identity of this delivery (Shopify: X-Shopify-Webhook-Id; WooCommerce: webhook id +
    # resource id + date_modified_gmt, as its delivery id changes on every try): a replay is refused by the
    # database, not by a race-prone lookup.
    dedupe_key = models.CharField(max_length=200)
    event_id = models.CharField(max_length=100, blank=True, help_text="Shopify: X-Shopify-Event-Id.")
    triggered_at = models.CharField(max_length=64, blank=True, help_text="Shopify: X-Shopify-Triggered-At.")
    external_id = models.CharField(max_length=100, blank=True, help_text="The channel's id of the order it is about.")
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    error = models.TextField(blank=True, help_text="Why it failed, was ignored or is waiting.")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="inbound_messages")
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    # When a processing task was last sent for it; the sweeper re-sends one for messages still received later.
    queued_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    reprocessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    reprocessed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("reprocess_inboundmessage", "Can re-process inbound messages")]
        constraints = [
            models.UniqueConstraint(fields=["channel", "dedupe_key"], name="inbound_channel_dedupe_unique"),
        ]
        indexes = [
            models.Index(fields=["state", "queued_at"], name="inbound_state_queued_idx"),
            models.Index(fields=["channel", "external_id", "state"], name="inbound_channel_external_idx"),
            # The console's list: each filter with its default order (-id), and its exact searches.
            models.Index(fields=["state", "id"], name="inbound_state_list_idx"),
            models.Index(fields=["channel", "id"], name="inbound_channel_list_idx"),
            models.Index(fields=["source", "id"], name="inbound_source_list_idx"),
            models.Index(fields=["topic", "id"], name="inbound_topic_list_idx"),
            models.Index(fields=["external_id"], name="inbound_external_id_idx"),
            models.Index(fields=["dedupe_key"], name="inbound_dedupe_key_idx"),
            models.Index(fields=["event_id"], name="inbound_event_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.topic} {self.external_id} ({self.state})"


class ChannelOrder(models.Model):
    """Per channel order: the source timestamp of the last change applied, so stale updates are ignored.

    Its row lock serialises every message about one channel order (webhooks and reconciliation alike).
    """

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="channel_orders")
    external_id = models.CharField(max_length=100)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    # A message about it waits for the order to exist; its creation wakes them (saves a lookup on every create).
    waiting = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="channelorder_channel_external_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.external_id}"


class SkuMapping(models.Model):
    """Our SKU as the channel knows it: the ids its inventory API needs to set the stock of that item."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sku_mappings")
    sku_code = models.CharField(max_length=100, help_text="Inventory SKU code (soft reference).")
    product_id = models.PositiveBigIntegerField(null=True, blank=True, help_text="Shopify or WooCommerce product.")
    variant_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Shopify variant / WooCommerce variation (empty for a simple product)."
    )
    inventory_item_id = models.PositiveBigIntegerField(null=True, blank=True, help_text="Shopify only.")
    location_id = models.PositiveBigIntegerField(null=True, blank=True, help_text="Shopify only.")
    last_pushed_available = models.IntegerField(null=True, blank=True)
    last_pushed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel_id", "sku_code"]
        verbose_name = "SKU mapping"
        constraints = [models.UniqueConstraint(fields=["channel", "sku_code"], name="skumapping_channel_sku_unique")]
        indexes = [models.Index(fields=["channel", "variant_id"], name="skumapping_variant_idx"),
                   models.Index(fields=["channel", "product_id"], name="skumapping_product_idx")]

    def __str__(self) -> str:
        return f"{self.sku_code} @ {self.channel_id}"


class Reconciliation(models.Model):
    """Where reconciliation of one channel stands: the window being read and the page to resume from."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="reconciliation")
    # Orders updated before this were all read in a finished run; the next window starts here minus an overlap.
    completed_until = models.DateTimeField(null=True, blank=True)
    window_since = models.DateTimeField(null=True, blank=True)
    window_until = models.DateTimeField(null=True, blank=True)
    cursor = models.TextField(blank=True, help_text="The next page of an unfinished run (URL or page number).")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_fetched = models.PositiveIntegerField(default=0)
    last_ingested = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"reconciliation of {self.channel_id}"
