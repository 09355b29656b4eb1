from django.contrib import admin

from analytics.models import Promotion
from analytics.services import promotion_delete, promotion_save


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    """Promotions shift the forecast (manage.py forecast); the form refuses an end before the start or an
    absurd uplift, naming the field, through the model's validation."""

    list_display = ("name", "starts_at", "ends_at", "uplift_percent", "channel")
    list_filter = ("channel",)
    list_select_related = ("channel",)
    search_fields = ("name",)
    date_hierarchy = "starts_at"

    def save_model(self, request, obj, form, change):
        promotion_save(promotion=obj)

    def delete_model(self, request, obj):
        promotion_delete(promotion_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        promotion_delete(promotion_ids=list(queryset.values_list("pk", flat=True)))
