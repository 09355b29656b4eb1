"""Orders in Django admin: read-only records, history inline, and transition buttons that go through
order_transition with the operator as actor, so admin obeys the same guards and permissions as the API."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse

from orders.actors import Actor
from orders.fsm import TRANSITIONS
from orders.models import ORDER_AMOUNTS, Order, OrderLine, OrderStatusChange
from orders.money import money_str
from orders.services import order_transition, transitions_offered
from ordersync.admin import ReadOnlyAdmin
from ordersync.api import ApiError

# Every field any transition's form may post; each button asks for its own transition's inputs.
PAYLOAD_FIELDS = tuple(dict.fromkeys(field for spec in TRANSITIONS.values() for field in spec.inputs))


def money_display(field: str, source=lambda obj: obj):
    """A read-only admin column showing an amount in its currency's precision (EUR 30.40, JPY 1500, KWD 1.125)."""

    @admin.display(description=field.replace("_", " "), ordering=field)
    def show(self, obj):
        return money_str(getattr(obj, field), source(obj).currency)

    show.__name__ = f"{field}_display"
    return show


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
    fields = ("position", "sku", "name", "quantity", "unit_price_display", "line_total_display")
    readonly_fields = fields
    unit_price_display = money_display("unit_price", source=lambda line: line.order)
    line_total_display = money_display("line_total", source=lambda line: line.order)


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("created_at", "from_status", "to_status", "transition", "actor", "reason", "payload")
    readonly_fields = fields
    verbose_name_plural = "History"


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "external_id", "channel", "status", "total_display", "currency", "customer_email",
                    "placed_at", "updated_at")
    list_filter = ("status", "channel", ("placed_at", admin.DateFieldListFilter))
    search_fields = ("number", "external_id", "customer_email")
    list_select_related = ("channel",)
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, OrderStatusChangeInline]
    show_full_result_count = False
    subtotal_display = money_display("subtotal")
    shipping_total_display = money_display("shipping_total")
    tax_total_display = money_display("tax_total")
    discount_total_display = money_display("discount_total")
    total_display = money_display("total")

    def get_fields(self, request, obj=None):
        """Every field as Django would list it, amounts shown in their currency's precision."""
        return [f"{name}_display" if name in ORDER_AMOUNTS else name for name in super().get_fields(request, obj)]

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
            buttons = [
                {"name": name, "label": TRANSITIONS[name].label, "inputs": TRANSITIONS[name].inputs,
                 "url": reverse("admin:orders_order_transition", args=[order.pk, name])}
                for name in transitions_offered(actor=Actor.for_user(request.user), status=order.status)
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
