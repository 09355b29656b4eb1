"""Orders in Django admin: readable customer, address and money blocks, one timeline of everything that happened,
and transition buttons that open a confirmation page and go through order_transition with the operator as actor,
so admin obeys the same guards and permissions as the API."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from console.bulk import cancel_orders, release_holds
from console.lists import CappedCountPaginator
from console.selectors import order_timeline
from orders.actors import Actor
from orders.fsm import TRANSITIONS
from orders.models import ORDER_AMOUNTS, Order, OrderLine
from orders.money import money_str
from orders.services import actor_may, order_transition, transitions_offered
from ordersync.admin import ReadOnlyAdmin
from ordersync.api import ApiError

INPUT_LABELS = {"reason": _("Reason"), "amount": _("Amount"), "currency": _("Currency"),
                "payment_reference": _("Payment reference"), "tracking_number": _("Tracking number"),
                "carrier": _("Carrier")}
ADDRESS_LINES = (("name",), ("company",), ("line1",), ("line2",), ("postal_code", "city"), ("region",),
                 ("country",), ("phone",))


def money_display(field: str, source=lambda obj: obj):
    """A read-only admin column showing an amount in its currency's precision (EUR 30.40, JPY 1500, KWD 1.125)."""

    @admin.display(description=field.replace("_", " "), ordering=field)
    def show(self, obj):
        return money_str(getattr(obj, field), source(obj).currency)

    show.__name__ = f"{field}_display"
    return show


def address_block(address: dict):
    lines = [" ".join(str(address[k]) for k in keys if address.get(k)) for keys in ADDRESS_LINES]
    lines = [line for line in lines if line]
    if not lines:
        return "—"
    return format_html('<address style="font-style: normal">{}</address>',
                       format_html_join("", "{}<br>", ((line,) for line in lines)))


class TransitionForm(forms.Form):
    """The inputs one transition takes, required where the transition insists on them."""

    def __init__(self, *args, spec, **kwargs):
        super().__init__(*args, **kwargs)
        for name in spec.inputs:
            widget = forms.Textarea(attrs={"rows": 3, "cols": 60}) if name == "reason" else None
            self.fields[name] = forms.CharField(label=INPUT_LABELS.get(name, name), required=name in spec.required,
                                                max_length=500, widget=widget)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Lines are part of the order: whoever may view the order sees them.
        return request.user.has_perm("orders.view_order")


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("position", "sku", "name", "quantity", "unit_price_display", "line_total_display")
    readonly_fields = fields
    unit_price_display = money_display("unit_price", source=lambda line: line.order)
    line_total_display = money_display("line_total", source=lambda line: line.order)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "external_id", "channel", "status", "total_display", "currency", "customer_email",
                    "placed_at", "updated_at")
    list_filter = ("status", "channel", ("placed_at", admin.DateFieldListFilter))
    search_fields = ("=number", "=external_id", "=customer_email")
    list_select_related = ("channel",)
    inlines = [OrderLineInline]
    # Filters, searches and the default order (-id) walk indexes (orders migration 0004); placed_at is a filter,
    # not a date hierarchy, whose year/month bar reads every order's date.
    paginator = CappedCountPaginator
    show_full_result_count = False
    # Each order's history row names the user who ran the action; no admin log entry is added for orders.
    actions = ("cancel_orders", "release_holds")
    cancel_orders = cancel_orders
    release_holds = release_holds
    fieldsets = (
        (None, {"fields": ("number", "status", "channel", "external_id", "placed_at", "updated_at",
                           "hold_reason", "cancel_reason")}),
        (_("Customer"), {"fields": ("customer", "shipping_address_block", "billing_address_block")}),
        (_("Amounts"), {"fields": ("currency", *(f"{name}_display" for name in ORDER_AMOUNTS))}),
        (_("Payment and shipping"), {"fields": ("payment_reference", "carrier", "tracking_number")}),
        (_("Technical"), {"classes": ("collapse",), "fields": ("held_from", "language", "body_hash",
                                                               "created_at")}),
    )
    subtotal_display = money_display("subtotal")
    shipping_total_display = money_display("shipping_total")
    tax_total_display = money_display("tax_total")
    discount_total_display = money_display("discount_total")
    total_display = money_display("total")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel")

    def has_cancel_permission(self, request):
        return request.user.has_perm(TRANSITIONS["cancel"].permission_name)

    def has_release_permission(self, request):
        return request.user.has_perm(TRANSITIONS["release_hold"].permission_name)

    @admin.display(description=_("customer"))
    def customer(self, order):
        parts = [order.customer_name, order.customer_email, order.customer_phone]
        return format_html_join("", "{}<br>", ((p,) for p in parts if p)) or "—"

    @admin.display(description=_("shipping address"))
    def shipping_address_block(self, order):
        return address_block(order.shipping_address)

    @admin.display(description=_("billing address"))
    def billing_address_block(self, order):
        return address_block(order.billing_address or order.shipping_address)

    def get_urls(self):
        return [
            path("<path:object_id>/transition/<str:name>/", self.admin_site.admin_view(self.transition_view),
                 name="orders_order_transition"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        context = {"transitions": [], "timeline": []}
        if order is not None:
            context["transitions"] = [
                {"name": name, "label": TRANSITIONS[name].label,
                 "url": reverse("admin:orders_order_transition", args=[order.pk, name])}
                for name in transitions_offered(actor=Actor.for_user(request.user), status=order.status)
            ]
            context["timeline"] = order_timeline(order=order)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **context})

    def transition_view(self, request, object_id, name):
        """GET: the confirmation page with the inputs the transition needs; POST: run it and report."""
        spec = TRANSITIONS.get(name)
        order = self.get_object(request, object_id)
        if spec is None or order is None:
            raise Http404
        actor = Actor.for_user(request.user)
        if not self.has_view_permission(request, order) or not actor_may(actor, name):
            raise PermissionDenied  # system-only transitions (expiry) included: no user may run them
        order_url = reverse("admin:orders_order_change", args=[order.pk])
        form = TransitionForm(request.POST or None, spec=spec, initial={"currency": order.currency})
        status = 200
        if request.method == "POST" and form.is_valid():
            payload = {k: v.strip() for k, v in form.cleaned_data.items() if v and v.strip()}
            try:
                order = order_transition(order_id=order.pk, name=name, actor=actor, payload=payload)
            except ApiError as exc:
                form.add_error(None, f"{spec.label} refused: {exc.detail}")
                status = exc.status_code
            else:
                self.message_user(request, _("Order %(number)s: %(label)s done; it is now %(status)s.") % {
                    "number": order.number, "label": spec.label, "status": order.get_status_display()},
                    messages.SUCCESS)
                return HttpResponseRedirect(order_url)
        elif request.method == "POST":
            status = 400
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "original": order, "spec": spec,
            "form": form, "order_url": order_url, "title": f"{spec.label}: {order.number}",
            "total": f"{money_str(order.total, order.currency)} {order.currency}",
            "possible_now": name in transitions_offered(actor=actor, status=order.status),
        }
        return TemplateResponse(request, "admin/orders/order/transition_confirm.html", context, status=status)
