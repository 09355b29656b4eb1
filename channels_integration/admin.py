from django import forms
from django.contrib import admin

from channels_integration.connectors.admin import InboundMessageAdmin, ReconciliationAdmin  # noqa: F401  registers
from channels_integration.models import ApiKey, Channel, SkuMapping
from channels_integration.services import SKU_MAPPING_IDS, sku_mapping_upsert, sku_mapping_validate


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("prefix", "name", "scopes", "stock_write_reason", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


def _prefix(secret: str) -> str:
    return f"{secret[:6]}…" if secret else "—"


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "currency", "active", "insufficient_stock_policy", "webhook_rejections")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    inlines = [ApiKeyInline]
    # Secrets are never shown again after create_channel printed them; the connection is set up there too.
    exclude = ("webhook_secret", "api_token")
    readonly_fields = ("kind", "shop_domain", "store_url", "webhook_secret_prefix", "api_token_prefix",
                       "webhook_rejections", "webhook_last_rejected_at")

    @admin.display(description="Webhook secret")
    def webhook_secret_prefix(self, channel):
        return _prefix(channel.webhook_secret)

    @admin.display(description="API token")
    def api_token_prefix(self, channel):
        return _prefix(channel.api_token)


class SkuMappingForm(forms.ModelForm):
    class Meta:
        model = SkuMapping
        fields = ("channel", "sku_code", *SKU_MAPPING_IDS)

    def clean(self):
        data = super().clean()
        channel = data.get("channel") or getattr(self.instance, "channel", None)
        if channel is not None:
            sku_mapping_validate(channel=channel, ids={name: data.get(name) for name in SKU_MAPPING_IDS})
        return data


@admin.register(SkuMapping)
class SkuMappingAdmin(admin.ModelAdmin):
    form = SkuMappingForm
    list_display = ("sku_code", "channel", "product_id", "variant_id", "inventory_item_id", "location_id",
                    "last_pushed_available", "last_pushed_at")
    list_filter = ("channel",)
    list_select_related = ("channel",)
    search_fields = ("sku_code", "=product_id", "=variant_id", "=inventory_item_id")
    readonly_fields = ("last_pushed_available", "last_pushed_at")

    def get_readonly_fields(self, request, obj=None):
        # A mapping belongs to one SKU of one channel; another SKU is another mapping.
        return (*self.readonly_fields, "channel", "sku_code") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        mapping, _ = sku_mapping_upsert(channel=obj.channel, sku_code=obj.sku_code,
                                        **{name: data.get(name) for name in SKU_MAPPING_IDS})
        obj.pk = mapping.pk
