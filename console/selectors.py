"""Reads behind the console's pages: one order's whole story, and the dashboard's figures (console/dashboard.py).

The console sits above every app, so it may read all of them; none of them imports it."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch
from django.urls import reverse

from channels_integration.models import InboundMessage
from notifications.models import Notification
from orders.models import Order, OrderStatusChange
from sync.models import Attempt, Delivery

# Characters of an attempt's response body shown on the order page (the full excerpt is on the delivery's page).
RESPONSE_EXCERPT = 160


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # inbound | status | delivery | notification
    title: str
    state: str = ""
    detail: str = ""
    url: str = ""
    attempts: list = field(default_factory=list)


def _inbound(message: InboundMessage) -> TimelineEntry:
    return TimelineEntry(
        at=message.received_at, kind="inbound", state=message.state,
        title=f"{message.get_source_display()} {message.topic} from {message.channel.code}",
        detail=message.error, url=reverse("admin:channels_integration_inboundmessage_change", args=[message.pk]),
    )


def _status(change: OrderStatusChange) -> TimelineEntry:
    moved = f"{change.from_status or '∅'} → {change.to_status}"
    return TimelineEntry(at=change.created_at, kind="status", state=change.to_status,
                         title=f"{moved} ({change.transition}) by {change.actor}", detail=change.reason)


def _delivery(delivery: Delivery) -> TimelineEntry:
    attempts = [
        {"started_at": a.started_at, "status_code": a.status_code, "duration_ms": a.duration_ms, "error": a.error,
         "response": a.response_body[:RESPONSE_EXCERPT]}
        for a in sorted(delivery.attempt_log.all(), key=lambda a: a.started_at, reverse=True)
    ]
    return TimelineEntry(
        at=delivery.created_at, kind="delivery", state=delivery.state, attempts=attempts,
        title=f"{delivery.event.topic} to {delivery.endpoint.name} ({delivery.endpoint.get_kind_display()})",
        detail=delivery.last_error, url=reverse("admin:sync_delivery_change", args=[delivery.pk]),
    )


def _notification(notification: Notification) -> TimelineEntry:
    return TimelineEntry(
        at=notification.created_at, kind="notification", state=notification.state,
        title=f"{notification.get_medium_display()} {notification.topic} to {notification.recipient or '—'}",
        detail=notification.error, url=reverse("admin:notifications_notification_change", args=[notification.pk]),
    )


def order_deliveries(*, order_id: int):
    return (Delivery.objects.filter(event__order_id=order_id).select_related("event", "endpoint")
            .defer("event__payload").prefetch_related(Prefetch("attempt_log", queryset=Attempt.objects.all())))


def order_timeline(*, order: Order) -> list[TimelineEntry]:
    """Everything that happened to the order, newest first: four queries plus one for all attempts, however long
    its history is."""
    entries = [
        *map(_inbound, InboundMessage.objects.filter(order=order).select_related("channel").defer("body", "headers")),
        *map(_status, OrderStatusChange.objects.filter(order=order)),
        *map(_delivery, order_deliveries(order_id=order.pk)),
        *map(_notification, Notification.objects.filter(order_id=order.pk).defer("body_text", "body_html")),
    ]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)
