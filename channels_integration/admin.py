from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from channels_integration.connectors.admin import InboundMessageAdmin, ReconciliationAdmin  # noqa: F401  registers
from channels_integration.models import ApiKey, Channel, SkuMapping
from channels_integration.scopes import ALL_SCOPES
from channels_integration.services import (
    SKU_MAPPING_IDS,
    api_key_create,
    api_key_revoke,
    sku_mapping_upsert,
    sku_mapping_validate,
)
from console.bulk import confirmed_action
from ordersync.admin import ReadOnlyAdmin


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


class ApiKeyCreateForm(forms.Form):
    channel = forms.ModelChoiceField(queryset=Channel.objects.order_by("code"))
    name = forms.CharField(max_length=100, required=False)
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in ALL_SCOPES], widget=forms.CheckboxSelectMultiple)
    stock_write_reason = forms.CharField(max_length=200, required=False)


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys per channel; a new key's secret is shown once, on the page that created it; revoking is for good."""

    list_display = ("prefix", "channel", "name", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("channel", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("channel",)
    search_fields = ("=prefix", "name")
    exclude = ("secret_hash",)
    actions = ("revoke",)

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("channels_integration.add_apikey")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiKeyCreateForm(request.POST or None)
        issued = None
        if request.method == "POST" and form.is_valid():
            try:
                issued = api_key_create(**form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form, "issued": issued,
                   "title": "Create API key"}
        status = 400 if request.method == "POST" and issued is None else 200
        return TemplateResponse(request, "admin/channels_integration/apikey/create.html", context, status=status)

    def has_revoke_permission(self, request):
        return request.user.has_perm("channels_integration.change_apikey")

    @confirmed_action(description=_("Revoke selected keys (for good)"), permission="revoke")
    def revoke(self, request, queryset, data):
        keys = [api_key_revoke(api_key=key) for key in queryset.filter(revoked_at=None).order_by("pk")]
        return _("Revoked %(n)d key(s).") % {"n": len(keys)}, [], keys
