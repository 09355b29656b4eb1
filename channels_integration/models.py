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

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    @property
    def is_sales_channel(self) -> bool:
        return self.kind != self.Kind.STOCK


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
