"""Operator console: endpoint health, deliveries with their attempts, alerts. Every change goes through services."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.bulk import confirmed_action
from console.lists import CappedCountPaginator, indexed_values_filter
from ordersync.admin import ReadOnlyAdmin
from sync import selectors, services
from sync.models import Attempt, Delivery, Endpoint, Event, OperatorAlert
from sync.services.endpoints import breaker_state
from sync.services.operations import CANCELLABLE, REPLAYABLE


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "active", "breaker", "success_rate", "p95", "backlog", "oldest_pending_at",
                    "dead")
    list_filter = ("kind", "active")
    search_fields = ("name", "url")
    exclude = ("secret",)
    actions = ("enable", "disable", "replay_dead")

    def get_queryset(self, request):
        return selectors.endpoints_with_health()

    @admin.display(description="breaker")
    def breaker(self, obj):
        return breaker_state(obj)

    @admin.display(description="success (24 h)")
    def success_rate(self, obj):
        rate = selectors.success_rate(obj)
        return "—" if rate is None else f"{rate:.1%}"

    @admin.display(description="p95 ms (24 h)")
    def p95(self, obj):
        return "—" if obj.p95_ms is None else f"{obj.p95_ms:.0f}"

    @admin.display(ordering="backlog")
    def backlog(self, obj):
        return obj.backlog

    @admin.display(ordering="dead")
    def dead(self, obj):
        return obj.dead

    @admin.display(description="oldest pending")
    def oldest_pending_at(self, obj):
        if obj.oldest_pending_at is None:
            return "—"
        return f"{(timezone.now() - obj.oldest_pending_at).total_seconds():.0f} s ago"

    @admin.action(description="Enable (and close the circuit breaker)", permissions=["operate"])
    def enable(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_enable(endpoint_id=endpoint.pk)
        self.message_user(request, f"Enabled {len(queryset)} endpoint(s).", messages.SUCCESS)

    @admin.action(description="Disable", permissions=["operate"])
    def disable(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_disable(endpoint_id=endpoint.pk, reason=f"disabled by {request.user} in admin")
        self.message_user(request, f"Disabled {len(queryset)} endpoint(s).", messages.SUCCESS)

    def has_replay_permission(self, request):
        # Replaying changes deliveries, not the endpoint: it takes the permission that replaying one delivery takes.
        return request.user.has_perm("sync.change_delivery")

    @confirmed_action(description=_("Replay dead deliveries"), permission="replay")
    def replay_dead(self, request, queryset, data):
        dead = list(Delivery.objects.filter(endpoint__in=queryset, state=Delivery.State.DEAD).order_by("pk"))
        count = services.deliveries_replay(delivery_ids=[d.pk for d in dead])
        return _("Re-queued %(n)d dead deliveries.") % {"n": count}, [], dead


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    fields = ("started_at", "duration_ms", "status_code", "error", "response_body")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "topic", "endpoint", "stream", "sequence", "state", "attempts", "next_attempt_at",
                    "last_status_code", "delivered_at", "end_to_end_latency_ms")
    # Each filter and the default order (-id) walk an index (sync migration 0005); no date hierarchy, whose
    # year/month bar reads every row's date.
    list_filter = ("state", "endpoint__kind", "endpoint",
                   indexed_values_filter(model=Event, column="topic", lookup="event__topic", title=_("topic")))
    search_fields = ("=stream",)
    list_select_related = ("event", "endpoint")
    paginator = CappedCountPaginator
    show_full_result_count = False
    inlines = [AttemptInline]
    actions = ("replay", "cancel")

    @admin.display(ordering="event__topic")
    def topic(self, obj):
        return obj.event.topic

    @confirmed_action(description=_("Replay (re-queue with a fresh schedule)"), permission="operate")
    def replay(self, request, queryset, data):
        selected = list(queryset.filter(state__in=REPLAYABLE).order_by("pk"))
        count = services.deliveries_replay(delivery_ids=[d.pk for d in selected])
        return _("Re-queued %(n)d deliveries.") % {"n": count}, [], selected

    @confirmed_action(description=_("Cancel (skip; later events of the order may go)"), permission="operate")
    def cancel(self, request, queryset, data):
        selected = list(queryset.filter(state__in=CANCELLABLE).order_by("pk"))
        count = services.deliveries_cancel(delivery_ids=[d.pk for d in selected],
                                           reason=f"cancelled by {request.user.get_username()}")
        return _("Cancelled %(n)d deliveries.") % {"n": count}, [], selected


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "topic", "order_id", "stream", "sequence", "created_at")
    list_filter = (indexed_values_filter(model=Event, column="topic", lookup="topic", title=_("topic")),)
    search_fields = ("=stream",)
    paginator = CappedCountPaginator
    show_full_result_count = False


@admin.register(OperatorAlert)
class OperatorAlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "endpoint", "delivery", "message", "resolved_at")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    list_select_related = ("endpoint", "delivery")
    actions = ("resolve",)

    @admin.action(description="Mark resolved", permissions=["operate"])
    def resolve(self, request, queryset):
        count = services.alerts_resolve(alert_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Resolved {count} alert(s).", messages.SUCCESS)
