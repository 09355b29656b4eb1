"""The dashboard's figures: each a number and the filtered admin list behind it."""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, F
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone

from channels_integration.models import InboundMessage
from inventory.models import StockLevel
from orders.models import Order
from sync.models import Delivery, OperatorAlert
from sync.selectors import endpoints_with_health, success_rate

# Minutes an order may sit in a status before it counts as stuck; settings.CONSOLE_STUCK_MINUTES overrides.
DEFAULT_STUCK_MINUTES = {"paid": 15, "fulfilling": 24 * 60, "on_hold": 60}


def orders_per_hour(*, hours: int = 48, now=None) -> dict:
    """{channel code: [count per hour, oldest first]} over the last `hours` hours."""
    now = now or timezone.now()
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    rows = (Order.objects.filter(placed_at__gte=start).annotate(hour=TruncHour("placed_at"))
            .values("channel__code", "hour").annotate(n=Count("pk")).order_by())
    series: dict[str, list[int]] = {}
    for row in rows:
        slot = int((row["hour"] - start).total_seconds() // 3600)
        if 0 <= slot < hours:
            series.setdefault(row["channel__code"], [0] * hours)[slot] += row["n"]
    return dict(sorted(series.items()))


def stuck_orders(*, now=None) -> list[dict]:
    now = now or timezone.now()
    thresholds = getattr(settings, "CONSOLE_STUCK_MINUTES", DEFAULT_STUCK_MINUTES)
    changelist = reverse("admin:orders_order_changelist")
    result = []
    for status, minutes in thresholds.items():
        before = now - timedelta(minutes=minutes)
        count = Order.objects.filter(status=status, updated_at__lt=before).count()
        query = urlencode({"status__exact": status, "updated_at__lt": before.isoformat()})
        result.append({"status": status, "minutes": minutes, "count": count, "url": f"{changelist}?{query}"})
    return result


def endpoint_health() -> list[dict]:
    deliveries = reverse("admin:sync_delivery_changelist")
    rows = []
    for endpoint in endpoints_with_health():
        rate = success_rate(endpoint)
        rows.append({
            "name": endpoint.name, "rate": rate, "p95": endpoint.p95_ms, "backlog": endpoint.backlog,
            "oldest": endpoint.oldest_pending_at, "dead": endpoint.dead,
            "dead_url": f"{deliveries}?endpoint__id__exact={endpoint.pk}&state__exact=dead",
            "backlog_url": f"{deliveries}?endpoint__id__exact={endpoint.pk}&state__exact=pending",
        })
    return rows


def totals() -> dict:
    """Low stock: a SKU with a warehouse whose free stock (on hand − reserved) is at or below the SKU's own safety
    stock, the threshold set per SKU in its admin (the stock levels' "Low" filter). Alerts: the operator alerts
    the delivery engine raises (dead deliveries, disabled endpoints) that nobody resolved yet."""
    low = StockLevel.objects.annotate(free=F("on_hand") - F("reserved")).filter(free__lte=F("sku__safety_stock"))
    return {
        "low_stock": low.values("sku").distinct().count(),
        "low_stock_url": f"{reverse('admin:inventory_stocklevel_changelist')}?low=yes",
        "open_alerts": OperatorAlert.objects.filter(resolved_at=None).count(),
        "open_alerts_url": f"{reverse('admin:sync_operatoralert_changelist')}?resolved_at__isempty=1",
        "dead": Delivery.objects.filter(state=Delivery.State.DEAD).count(),
        "dead_url": f"{reverse('admin:sync_delivery_changelist')}?state__exact=dead",
        "failed_inbound": InboundMessage.objects.filter(state=InboundMessage.State.FAILED).count(),
        "failed_inbound_url": f"{reverse('admin:channels_integration_inboundmessage_changelist')}?state__exact=failed",
    }


def bars_svg(series: dict, *, width: int = 720, height: int = 160) -> str:
    """A stacked bar chart per hour, drawn server-side: readable without JavaScript."""
    from django.utils.html import escape

    colours = ["#417690", "#e0a030", "#70a050", "#b05050", "#8060a0"]
    hours = len(next(iter(series.values()), []))
    if not hours:
        return ""
    peak = max(sum(values[i] for values in series.values()) for i in range(hours)) or 1
    bar = width / hours
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}" role="img" '
             f'aria-label="orders per hour by channel" id="orders-per-hour">']
    for i in range(hours):
        y = height
        for n, (code, values) in enumerate(series.items()):
            if values[i]:
                h = values[i] / peak * height
                y -= h
                parts.append(f'<rect x="{i * bar:.1f}" y="{y:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                             f'fill="{colours[n % len(colours)]}" data-channel="{escape(code)}" '
                             f'data-count="{values[i]}"><title>{escape(code)}: {values[i]}</title></rect>')
    parts.append(f'<text x="0" y="{height + 15}" font-size="11">-{hours} h</text>'
                 f'<text x="{width - 30}" y="{height + 15}" font-size="11">now</text>'
                 f'<text x="2" y="12" font-size="11">peak {peak}/h</text></svg>')
    return "".join(parts)
