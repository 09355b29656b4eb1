"""Promotions are the one thing analytics stores: planned demand the history cannot know about."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# More than +1000 % (11 × the usual orders) is almost always a factor typed as a percent; a promotion longer
# than this is a season, which the history already carries.
MAX_UPLIFT_PERCENT = 1000
MAX_PROMOTION_LENGTH = timedelta(days=62)


class Promotion(models.Model):
    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="Exclusive: the promotion's last hour ends here.")
    uplift_percent = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_UPLIFT_PERCENT)],
        help_text=f"Expected extra orders while it runs, in percent of the usual (1–{MAX_UPLIFT_PERCENT}; "
                  "100 = twice the usual).",
    )
    channel = models.ForeignKey(
        "channels_integration.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="promotions",
        help_text="Empty: every channel.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "id"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="promotion_window_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="promotion_ends_after_start"),
            models.CheckConstraint(condition=models.Q(uplift_percent__gte=1, uplift_percent__lte=MAX_UPLIFT_PERCENT),
                                   name="promotion_uplift_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (+{self.uplift_percent} %)"

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at:
            if self.ends_at <= self.starts_at:
                raise ValidationError({"ends_at": "The end must be after the start."})
            if self.ends_at - self.starts_at > MAX_PROMOTION_LENGTH:
                raise ValidationError({"ends_at": f"A promotion may last at most {MAX_PROMOTION_LENGTH.days} days; "
                                                  "longer demand changes are already in the order history."})

    @property
    def factor(self) -> float:
        return 1 + self.uplift_percent / 100
