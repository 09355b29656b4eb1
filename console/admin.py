"""Login lockouts (django-axes) in the console: who is locked out from where, and lifting it (admins only)."""

from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib import admin, messages

from ordersync.admin import ReadOnlyAdmin


@admin.register(AccessAttempt)
class LockoutAdmin(ReadOnlyAdmin):
    list_display = ("username", "ip_address", "failures_since_start", "attempt_time", "user_agent")
    search_fields = ("=username", "=ip_address")
    fields = list_display
    actions = ("unlock",)

    def has_unlock_permission(self, request):
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.action(description="Lift the lockout (forget these failed logins)", permissions=["unlock"])
    def unlock(self, request, queryset):
        lifted = sum(reset(username=row.username, ip=row.ip_address) for row in queryset.order_by("pk"))
        self.message_user(request, f"Lifted {lifted} lockout(s).", messages.SUCCESS)
