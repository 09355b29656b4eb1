"""Pieces shared by ingest and transitions: the audit row and the outbox event."""

from orders.models import Order, OrderStatusChange
from orders.snapshots import order_snapshot
from sync.services import EventSpec, event_publish_many


def status_change_row(*, order: Order, from_status: str, transition: str, actor, reason: str = "",
                      payload: dict | None = None) -> OrderStatusChange:
    return OrderStatusChange(
        order=order,
        from_status=from_status,
        to_status=order.status,
        transition=transition,
        actor=actor.label,
        actor_kind=actor.kind,
        user=actor.user if actor.kind == "user" else None,
        reason=reason,
        payload=payload or {},
    )


def event_spec(*, topic: str, order: Order, lines, transition: str, actor, reason: str = "") -> EventSpec:
    payload = order_snapshot(order, lines)
    payload["transition"] = {"name": transition, "actor": actor.label, "reason": reason}
    return EventSpec(topic=topic, order_id=order.pk, payload=payload)


def publish(*, topic: str, order: Order, lines, transition: str, actor, reason: str = ""):
    spec = event_spec(topic=topic, order=order, lines=lines, transition=transition, actor=actor, reason=reason)
    return event_publish_many(events=[spec])[0]
