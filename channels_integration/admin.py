from django.contrib import admin

from channels_integration.models import ApiKey, Channel


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("prefix", "name", "scopes", "stock_write_reason", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "currency", "active", "insufficient_stock_policy")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    inlines = [ApiKeyInline]
