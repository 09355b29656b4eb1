"""Stock: what exists (StockLevel), what is promised (Reservation) and how it got there (StockMovement).

Every write goes through inventory.services; these classes only describe the data and its invariants.
The invariant `0 <= reserved <= on_hand` is a database CHECK so no code path, however buggy, can oversell.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from inventory.codes import SKU_CODE_MAX_LENGTH, sku_code_validator

# Unit counts are PostgreSQL `integer` columns: anything that would pass this is refused before it reaches them.
MAX_UNITS = 2**31 - 1


class AppendOnly:
    """Rows that are written once and never edited or deleted (audit trails); a correction is a new row."""

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"{self._meta.verbose_name_plural} are append-only; record a correcting row instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{self._meta.verbose_name_plural} are append-only and cannot be deleted.")


class Sku(models.Model):
    code = models.CharField(max_length=SKU_CODE_MAX_LENGTH, unique=True, validators=[sku_code_validator])
    name = models.CharField(max_length=300)
    track_inventory = models.BooleanField(
        default=True, help_text="Untracked SKUs (services, gift cards) are always sellable and hold no stock."
    )
    safety_stock = models.PositiveIntegerField(
        default=0, help_text="Units kept back from channels: available-to-sell is on hand minus reserved minus this."
    )
    restricted = models.BooleanField(
        default=False,
        help_text="Only channels with an allocation for this SKU may sell it; to every other channel it does not "
        "exist.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "SKU"

    def __str__(self) -> str:
        return self.code


class Warehouse(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    priority = models.IntegerField(default=100, help_text="Lower numbers are reserved from first.")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    active = models.BooleanField(default=True, help_text="Inactive warehouses are neither reserved from nor sold.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return self.code


class StockLevel(models.Model):
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    reserved = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    # The stock feed's dirty marker lives on the row every change already updates, so marking costs nothing:
    # the row has unpublished changes while version > published_version (see inventory.feed). Deliberately
    # not indexed: an index on these columns would turn every reservation into a non-HOT update.
    version = models.PositiveBigIntegerField(default=0)
    published_version = models.PositiveBigIntegerField(default=0)
    # Split stock (hot SKUs, opt-in): 0 = the ordinary single row; N > 0 = N StockBucket rows hold part of the
    # units (see inventory.buckets). Totals are this row plus its buckets. Changed only by stock_split/merge.
    buckets = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku_id", "warehouse_id"]
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="stocklevel_sku_warehouse_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stocklevel_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stocklevel_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.warehouse_id}"


class StockBucket(models.Model):
    """One of the N rows a split stock level's units are spread over, so concurrent reservations of a hot SKU
    lock different rows. Same invariant as the level, as database CHECKs; same feed marker."""

    stock_level = models.ForeignKey(StockLevel, on_delete=models.CASCADE, related_name="stock_buckets")
    index = models.PositiveSmallIntegerField()
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    version = models.PositiveBigIntegerField(default=0)
    published_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["stock_level_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["stock_level", "index"], name="stockbucket_level_index_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stockbucket_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stockbucket_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.stock_level_id}#{self.index}"


class Reservation(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        COMMITTED = "committed", "Committed (shipped)"
        RELEASED = "released", "Released"

    # Soft references: inventory sits below orders in the dependency graph, so no foreign keys to it.
    order_id = models.BigIntegerField(db_index=True)
    order_line_id = models.BigIntegerField()
    # The selling channel, and the allocation whose `reserved` counter this reservation was added to (if any);
    # plain columns for the same hot-path reason as the ledger's.
    channel_id = models.BigIntegerField(null=True, blank=True)
    allocation_id = models.BigIntegerField(null=True, blank=True)
    # Few indexes on purpose: every reservation inserts into each of them while the hot stock row is locked.
    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="reservations", db_index=False)
    # The StockBucket the units came from (split stock), else null. A soft reference because merging deletes
    # buckets: a reservation whose bucket is gone gives its units back to the level, where the merge put them.
    bucket_id = models.BigIntegerField(null=True, blank=True)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive")]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(state="active", expires_at__isnull=False),
                name="reservation_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} line {self.order_line_id}: {self.quantity} ({self.state})"


class StockMovement(AppendOnly, models.Model):
    """The append-only ledger: summing the deltas of a stock level's movements gives its on_hand and reserved."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        ADJUSTMENT = "adjustment", "Adjustment"
        RESERVE = "reserve", "Reserve"
        RELEASE = "release", "Release"
        COMMIT = "commit", "Commit (shipped)"

    # The ledger is written on the hottest path, in the statement that updates the stock level it refers
    # to, so these are plain columns without database FK checks (each check re-locked the hot stock row and
    # the SKU and warehouse rows, halving the hot-SKU rate) and with indexes only where reads need them
    # (ledger per SKU, per order). Levels, SKUs and warehouses are never deleted (PROTECT everywhere else).
    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.DO_NOTHING, related_name="movements", db_index=False, db_constraint=False
    )
    sku = models.ForeignKey(
        Sku, on_delete=models.DO_NOTHING, related_name="movements", db_index=False, db_constraint=False
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.DO_NOTHING, related_name="movements", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    quantity = models.IntegerField(help_text="Units moved; negative only for adjustments that lower on hand.")
    on_hand_delta = models.IntegerField()
    reserved_delta = models.IntegerField()
    reason = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=100)
    reference = models.CharField(max_length=100, blank=True, help_text='What caused it, e.g. "order:42 line:7".')
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sku", "-created_at"], name="movement_sku_time_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} {self.sku_id}@{self.warehouse_id}"



class ChannelAllocation(models.Model):
    """What one sales channel may sell of one SKU: listed (for restricted SKUs) and optionally capped.

    `reserved` counts the units of this channel's active reservations made while the allocation existed; the
    reservation services change it in the transaction (and the statement order) that reserves, releases or
    ships, with `reserved + q <= cap` as the condition of the UPDATE, so concurrent orders cannot race past it.
    """

    channel = models.ForeignKey("channels_integration.Channel", on_delete=models.PROTECT,
                                related_name="stock_allocations")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="allocations")
    cap = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(MAX_UNITS)],
        help_text="At most this many units held by the channel's open (unshipped) orders at once; empty: no cap.",
    )
    reserved = models.PositiveIntegerField(default=0, help_text="Units the channel's open orders hold now.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku_id", "channel_id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "sku"], name="allocation_channel_sku_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="allocation_reserved_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} for channel {self.channel_id}"


class SkuChange(AppendOnly, models.Model):
    """The catalog's audit trail: who created or changed a SKU, and each field's [before, after]."""

    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="changes")
    actor = models.CharField(max_length=100)
    changes = models.JSONField(help_text="{field: [before, after]}; before is null when the SKU was created.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sku", "-created_at"], name="skuchange_sku_time_idx")]

    def __str__(self) -> str:
        return f"{self.sku_id} by {self.actor}"
