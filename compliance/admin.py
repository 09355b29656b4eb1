"""Compliance in admin: rules edited through rule_save (audited, validated field by field), their change log,
and the holds they caused, released or cancelled with a reason through the compliance services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm

from compliance.models import ComplianceHold, ComplianceRule, Erasure, RuleChange
from compliance.services import compliance_cancel, compliance_release, rule_save
from ordersync.admin import ReadOnlyAdmin
from ordersync.api import ApiError


class RuleChangeInline(admin.TabularInline):
    model = RuleChange
    extra = 0
    can_delete = False
    fields = ("created_at", "version", "actor", "changes")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ComplianceRule)
class ComplianceRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active", "sku", "countries", "max_quantity", "currency", "threshold",
                    "required_fields", "version", "updated_at")
    list_filter = ("kind", "active")
    search_fields = ("name", "sku")
    readonly_fields = ("version", "updated_at")
    inlines = [RuleChangeInline]

    def has_delete_permission(self, request, obj=None):
        # Holds name rules by id; switching a rule off (active) keeps that history readable.
        return False

    def save_model(self, request, obj, form, change):
        rule_save(rule=obj, user=request.user)


@admin.register(RuleChange)
class RuleChangeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "rule", "version", "actor", "changes")
    list_select_related = ("rule",)
    list_filter = ("rule__kind",)


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, help_text="Why (required to release or cancel).")


@admin.register(ComplianceHold)
class ComplianceHoldAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "order", "stage", "failed_rules", "decision", "decided_by", "decision_reason")
    list_filter = ("decision", "stage")
    list_select_related = ("order", "decided_by")
    search_fields = ("order__number",)
    action_form = ReasonActionForm
    actions = ["release", "cancel"]

    @admin.display(description="failed rules")
    def failed_rules(self, obj):
        return "; ".join(f["detail"] for f in obj.failures)

    # Deciding needs the compliance permission and the order transition it runs (order_transition checks it too).
    def has_release_permission(self, request):
        return request.user.has_perms(["compliance.decide_compliancehold", "orders.release_order"])

    def has_cancel_permission(self, request):
        return request.user.has_perms(["compliance.decide_compliancehold", "orders.cancel_order"])

    def _decide(self, request, queryset, service, verb):
        reason = request.POST.get("reason", "")
        for order_id in sorted({hold.order_id for hold in queryset if hold.decision == hold.Decision.PENDING}):
            try:
                order = service(order_id=order_id, user=request.user, reason=reason)
            except ApiError as exc:
                self.message_user(request, f"Order {order_id}: {verb} refused: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"Order {order.number}: {verb} done, now {order.status}.", messages.SUCCESS)

    @admin.action(description="Release the selected orders (reason required)", permissions=["release"])
    def release(self, request, queryset):
        self._decide(request, queryset, compliance_release, "release")

    @admin.action(description="Cancel the selected orders (reason required)", permissions=["cancel"])
    def cancel(self, request, queryset):
        self._decide(request, queryset, compliance_cancel, "cancel")


@admin.register(Erasure)
class ErasureAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "forced", "counts", "email_sha256")
