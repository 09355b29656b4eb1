"""Reads analytics needs from the other apps: each is one aggregate query, whatever the span."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, F
from django.db.models.functions import TruncHour

from analytics.models import Promotion
from channels_integration.models import Channel
from orders.models import Order
from sync.models import Attempt, Endpoint


def hourly_order_counts(*, since: datetime, until: datetime, channel: Channel | None = None) -> list[dict]:
    """Orders placed per UTC hour and channel in [since, until): rows {"hour", "channel", "orders"}.

    Hours without orders are absent; the forecast fills them with zeros. Counted by `placed_at` (when the
    customer ordered), not by when OrderSync stored the order.
    """
    orders = Order.objects.filter(placed_at__gte=since, placed_at__lt=until)
    if channel is not None:
        orders = orders.filter(channel=channel)
    return list(
        orders.order_by()
        .annotate(hour=TruncHour("placed_at"))
        .values("hour", channel_code=F("channel__code"))
        .annotate(orders=Count("id"))
        .order_by("hour", "channel_code")
    )


def promotions_overlapping(*, since: datetime, until: datetime) -> list[Promotion]:
    return list(
        Promotion.objects.filter(starts_at__lt=until, ends_at__gt=since).select_related("channel").order_by("starts_at")
    )


@dataclass(frozen=True)
class QueueServiceTime:
    queue: str
    attempts: int
    mean_ms: float


def delivery_service_times(*, since: datetime) -> list[QueueServiceTime]:
    """Mean time a worker spent on one delivery attempt, per queue (endpoint kind), from the attempt log."""
    rows = (
        Attempt.objects.filter(started_at__gte=since)
        .order_by()
        .values("delivery__endpoint__kind")
        .annotate(attempts=Count("id"), mean_ms=Avg("duration_ms"))
    )
    return [QueueServiceTime(queue=r["delivery__endpoint__kind"], attempts=r["attempts"], mean_ms=float(r["mean_ms"]))
            for r in rows]


def order_endpoints_per_queue(*, topic: str = "order.created") -> dict[str, int]:
    """Active endpoints that receive order events, counted per queue (an endpoint's kind is its queue)."""
    counts: dict[str, int] = {}
    for endpoint in Endpoint.objects.filter(active=True).only("kind", "topics"):
        if endpoint.subscribes_to(topic):
            counts[endpoint.kind] = counts.get(endpoint.kind, 0) + 1
    return counts


def channel_by_code(code: str) -> Channel | None:
    return Channel.objects.filter(code=code).first()


def channel_codes() -> list[str]:
    return list(Channel.objects.order_by("code").values_list("code", flat=True))
