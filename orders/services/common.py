"""Pieces shared by ingest and transitions: the audit row and the outbox event."""

from orders.models import Order, OrderStatusChange
from orders.snapshots import order_snapshot
from sync.services import event_publish


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


def publish(*, topic: str, order: Order, lines, transition: str, actor, reason: str = ""):
    payload = order_snapshot(order, lines)
    payload["transition"] = {"name": transition, "actor": actor.label, "reason": reason}
    return event_publish(topic=topic, order_id=order.pk, payload=payload)
