"""Operator views of stock. Every write goes through inventory.services; the ledger is read-only."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.db.models.functions import Greatest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from console.lists import CappedCountPaginator
from inventory.codes import SKU_CODE_MAX_LENGTH, sku_code_validator
from inventory.errors import InventoryError
from inventory.models import ChannelAllocation, Reservation, Sku, SkuChange, StockLevel, StockMovement, Warehouse
from inventory.selectors import levels_with_free, with_stock_totals
from inventory.services import allocation_remove, allocation_set, sku_upsert, stock_adjust, warehouse_upsert
from ordersync.admin import ReadOnlyAdmin


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


def _quantity(value: int, low: bool):
    return format_html('<strong style="color:#ba2121">{} (low)</strong>', value) if low else value


class ServiceWriteAdmin(admin.ModelAdmin):
    """Add/change forms validate the input; saving is delegated to the app's upsert service."""

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Sku)
class SkuAdmin(ServiceWriteAdmin):
    list_display = ("code", "name", "track_inventory", "restricted", "safety_stock", "on_hand", "reserved",
                    "available", "ledger")
    list_filter = ("track_inventory", "restricted")
    search_fields = ("code", "name")
    fields = ("code", "name", "track_inventory", "safety_stock", "restricted", "allocations")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "allocations")

    def get_queryset(self, request):
        return with_stock_totals(super().get_queryset(request)).annotate(
            available_to_sell=Greatest(F("total_on_hand") - F("total_reserved") - F("safety_stock"), 0)
        )

    @admin.display(ordering="total_on_hand")
    def on_hand(self, obj):
        return obj.total_on_hand

    @admin.display(ordering="total_reserved")
    def reserved(self, obj):
        return obj.total_reserved

    @admin.display(description="available to sell", ordering="available_to_sell")
    def available(self, obj):
        if not obj.track_inventory:
            return "untracked"
        return _quantity(obj.available_to_sell, obj.available_to_sell <= obj.safety_stock)

    @admin.display(description="ledger")
    def ledger(self, obj):
        url = reverse("admin:inventory_stockmovement_changelist") + f"?sku={obj.pk}"
        changes = reverse("admin:inventory_skuchange_changelist") + f"?sku={obj.pk}"
        return format_html('<a href="{}">movements</a> · <a href="{}">changes</a>', url, changes)

    @admin.display(description="channel allocations")
    def allocations(self, obj):
        """Which channels may sell it and their caps; edited under Channel allocations (through the service)."""
        rows = obj.allocations.select_related("channel").order_by("channel__code") if obj.pk else []
        link = reverse("admin:inventory_channelallocation_changelist") + f"?q={obj.code}"
        listed = format_html_join(", ", "{} (cap {}, holds {})",
                                  ((a.channel.code, "none" if a.cap is None else a.cap, a.reserved) for a in rows))
        return format_html('{} <a href="{}">manage</a>', listed or "none", link)

    def save_model(self, request, obj, form, change):
        sku, _created = sku_upsert(code=obj.code, name=obj.name, track_inventory=obj.track_inventory,
                                   safety_stock=obj.safety_stock, restricted=obj.restricted, actor=_actor(request))
        obj.pk = sku.pk


@admin.register(ChannelAllocation)
class ChannelAllocationAdmin(admin.ModelAdmin):
    """Per channel and SKU: may sell it (restricted SKUs) and at most `cap` units held by its open orders."""

    list_display = ("sku", "channel", "cap", "reserved", "updated_at")
    list_filter = ("channel",)
    list_select_related = ("sku", "channel")
    search_fields = ("sku__code", "channel__code")
    fields = ("channel", "sku", "cap", "reserved")
    readonly_fields = ("reserved",)
    autocomplete_fields = ("sku",)

    def get_readonly_fields(self, request, obj=None):
        return ("channel", "sku", "reserved") if obj is not None else ("reserved",)

    def save_model(self, request, obj, form, change):
        allocation = allocation_set(channel=obj.channel, sku_code=obj.sku.code, cap=obj.cap, actor=_actor(request))
        obj.pk = allocation.pk

    def delete_model(self, request, obj):
        allocation_remove(channel=obj.channel, sku_code=obj.sku.code, actor=_actor(request))

    def delete_queryset(self, request, queryset):
        for allocation in queryset.select_related("channel", "sku"):
            self.delete_model(request, allocation)


@admin.register(Warehouse)
class WarehouseAdmin(ServiceWriteAdmin):
    list_display = ("code", "name", "priority", "country", "active")
    list_filter = ("active", "country")
    search_fields = ("code", "name")
    fields = ("code", "name", "priority", "country", "active")

    def save_model(self, request, obj, form, change):
        warehouse = warehouse_upsert(code=obj.code, name=obj.name, priority=obj.priority, country=obj.country,
                                     active=obj.active)
        obj.pk = warehouse.pk


class LowStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "low"

    def lookups(self, request, model_admin):
        return [("yes", "Low (free ≤ safety stock)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(free__lte=F("sku__safety_stock"))
        return queryset


class AdjustForm(forms.Form):
    sku = forms.CharField(max_length=SKU_CODE_MAX_LENGTH, label="SKU code", validators=[sku_code_validator])
    warehouse = forms.ModelChoiceField(Warehouse.objects.all(), to_field_name="code")
    mode = forms.ChoiceField(choices=[("on_hand", "Set on hand to"), ("delta", "Change on hand by")])
    quantity = forms.IntegerField()
    reason = forms.CharField(max_length=200)


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ("sku", "warehouse", "total_on_hand", "total_reserved", "available", "buckets", "safety_stock",
                    "links")
    list_filter = (LowStockFilter, "warehouse")
    list_select_related = ("sku", "warehouse")
    search_fields = ("sku__code",)
    change_list_template = "admin/inventory/stocklevel/change_list.html"

    def get_queryset(self, request):
        return levels_with_free(super().get_queryset(request))

    @admin.display(description="on hand", ordering="total_on_hand")
    def total_on_hand(self, obj):
        return obj.total_on_hand

    @admin.display(description="reserved", ordering="total_reserved")
    def total_reserved(self, obj):
        return obj.total_reserved

    @admin.display(description="available (on hand − reserved)", ordering="free")
    def available(self, obj):
        return _quantity(obj.free, obj.free <= obj.sku.safety_stock)

    @admin.display(description="safety stock")
    def safety_stock(self, obj):
        return obj.sku.safety_stock

    @admin.display(description="")
    def links(self, obj):
        adjust = reverse("admin:inventory_stocklevel_adjust") + f"?sku={obj.sku.code}&warehouse={obj.warehouse.code}"
        ledger = reverse("admin:inventory_stockmovement_changelist") + f"?sku={obj.sku_id}"
        return format_html('<a href="{}">adjust</a> · <a href="{}">ledger</a>', adjust, ledger)

    def get_urls(self):
        view = self.admin_site.admin_view(self.adjust_view)
        return [path("adjust/", view, name="inventory_stocklevel_adjust"), *super().get_urls()]

    def adjust_view(self, request):
        if not request.user.has_perm("inventory.change_stocklevel"):
            raise PermissionDenied
        form = AdjustForm(request.POST or None, initial=request.GET.dict())
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            amount = {data["mode"]: data["quantity"]}
            try:
                level = stock_adjust(sku_code=data["sku"], warehouse_code=data["warehouse"].code,
                                     actor=_actor(request), reason=data["reason"], **amount)
            except InventoryError as exc:
                field = {"on_hand": "quantity", "delta": "quantity"}.get(exc.field, exc.field)
                form.add_error(field if field in form.fields else None, exc.detail)
            else:
                messages.success(request, f"{data['sku']} at {data['warehouse'].code}: on hand is now {level.on_hand}.")
                return redirect(reverse("admin:inventory_stocklevel_changelist") + f"?q={data['sku']}")
        context = {**self.admin_site.each_context(request), "title": "Adjust stock", "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/inventory/stocklevel/adjust.html", context)


class SkuLedgerFilter(admin.SimpleListFilter):
    """Filters by SKU id from the links; lists only the chosen SKU so the sidebar stays small."""

    title = "SKU"
    parameter_name = "sku"

    def lookups(self, request, model_admin):
        sku = Sku.objects.filter(pk=self.value()).first() if (self.value() or "").isdigit() else None
        return [(str(sku.pk), sku.code)] if sku else []

    def queryset(self, request, queryset):
        if (self.value() or "").isdigit():
            return queryset.filter(sku_id=int(self.value()))
        return queryset


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "sku", "warehouse", "kind", "quantity", "on_hand_delta", "reserved_delta",
                    "reason", "actor", "reference")
    list_filter = (SkuLedgerFilter, "kind", "warehouse")
    list_select_related = ("sku", "warehouse")
    search_fields = ("sku__code", "reference", "actor")
    date_hierarchy = "created_at"
    paginator = CappedCountPaginator
    show_full_result_count = False


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("order_id", "order_line_id", "sku", "warehouse", "quantity", "state", "channel_id",
                    "expires_at", "release_reason", "created_at")
    list_filter = ("state",)
    list_select_related = ("stock_level__sku", "stock_level__warehouse")
    search_fields = ("=order_id", "stock_level__sku__code")
    paginator = CappedCountPaginator
    show_full_result_count = False

    @admin.display(ordering="stock_level__sku__code")
    def sku(self, obj):
        return obj.stock_level.sku.code

    @admin.display(ordering="stock_level__warehouse__code")
    def warehouse(self, obj):
        return obj.stock_level.warehouse.code


@admin.register(SkuChange)
class SkuChangeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "sku", "actor", "changes")
    list_filter = (SkuLedgerFilter,)
    list_select_related = ("sku",)
    search_fields = ("sku__code", "actor")
    date_hierarchy = "created_at"
    paginator = CappedCountPaginator
    show_full_result_count = False
