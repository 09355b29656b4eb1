"""Orders in Django admin: read-only records, history inline, and transition buttons that go through
order_transition with the operator as actor, so admin obeys the same guards and permissions as the API."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse

from orders.actors import Actor
from orders.fsm import allowed_from
from orders.models import Order, OrderLine, OrderStatusChange
from orders.services import actor_may, order_transition
from ordersync.admin import ReadOnlyAdmin
from ordersync.api import ApiError

# Extra inputs each transition's button asks for (the API's TransitionInSerializer requires the same).
TRANSITION_INPUTS = {
    "pay": ("amount", "currency", "payment_reference"),
    "ship": ("tracking_number", "carrier"),
    "cancel": ("reason",),
    "hold": ("reason",),
    "refund": ("reason",),
}
PAYLOAD_FIELDS = ("reason", "amount", "currency", "payment_reference", "tracking_number", "carrier")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Lines and history are part of the order: whoever may view the order sees them.
        return request.user.has_perm("orders.view_order")


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("position", "sku", "name", "quantity", "unit_price", "line_total")
    readonly_fields = fields


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("created_at", "from_status", "to_status", "transition", "actor", "reason", "payload")
    readonly_fields = fields
    verbose_name_plural = "History"


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "external_id", "channel", "status", "total", "currency", "customer_email", "placed_at",
                    "updated_at")
    list_filter = ("status", "channel", ("placed_at", admin.DateFieldListFilter))
    search_fields = ("number", "external_id", "customer_email")
    list_select_related = ("channel",)
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, OrderStatusChangeInline]
    show_full_result_count = False

    def get_urls(self):
        return [
            path("<path:object_id>/transition/<str:name>/", self.admin_site.admin_view(self.transition_view),
                 name="orders_order_transition"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        buttons = []
        if order is not None:
            actor = Actor.for_user(request.user)
            buttons = [
                {"name": name, "inputs": TRANSITION_INPUTS.get(name, ("reason",)),
                 "url": reverse("admin:orders_order_transition", args=[order.pk, name])}
                for name in allowed_from(Order, order.status)
                if actor_may(actor, name)
            ]
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "transitions": buttons})

    def transition_view(self, request, object_id, name):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        payload = {k: request.POST[k].strip() for k in PAYLOAD_FIELDS if request.POST.get(k, "").strip()}
        try:
            order = order_transition(order_id=int(object_id), name=name, actor=Actor.for_user(request.user),
                                     payload=payload)
        except ApiError as exc:
            self.message_user(request, f"{name} refused: {exc.detail}", messages.ERROR)
        except ValueError:
            self.message_user(request, "No such order.", messages.ERROR)
        else:
            self.message_user(request, f"Order {order.number}: {name} done, now {order.status}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[object_id]))
