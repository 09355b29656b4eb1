"""Cancelling unpaid orders whose stock reservation ran out (run by the beat task)."""

import logging

from django.db import transaction
from django.utils import timezone

from inventory.selectors import expired_reservation_order_ids
from inventory.services import stock_release
from orders.actors import Actor
from orders.errors import InvalidTransition
from orders.fsm import Status
from orders.models import Order
from orders.services.common import publish, status_change_row
from orders.services.transitions import order_transition
from ordersync.api import ApiError

logger = logging.getLogger(__name__)

# Not a transition (the status stays on_hold), but a stock effect, so it is audited and published like one.
RELEASE_EXPIRED = "release_expired_stock"
STOCK_RELEASED_TOPIC = "order.stock_released"
EXPIRED_REASON = "reservation expired"


def order_expire_due(*, now=None, limit: int = 500) -> list[int]:
    """Expires each due order in its own transaction; an order paid or held meanwhile is skipped, not an error."""
    expired = []
    for order_id in expired_reservation_order_ids(now=now or timezone.now(), limit=limit):
        try:
            order_transition(order_id=order_id, name="expire", actor=Actor.system(),
                             payload={"reason": EXPIRED_REASON})
        except InvalidTransition as exc:
            # Held orders keep their status for review but give the stock back; lifting the hold reserves again.
            if exc.extra.get("status") == Status.ON_HOLD:
                order_release_expired_stock(order_id=order_id)
            logger.info("order %s not expired: %s", order_id, exc.detail)
            continue
        except ApiError as exc:
            logger.info("order %s not expired: %s (%s)", order_id, exc.detail, exc.code)
            continue
        expired.append(order_id)
    return expired


def order_release_expired_stock(*, order_id: int) -> int:
    """A held order's reservation ran out: its stock goes back, with an audit row and an `order.stock_released`
    event in the same transaction. Locks the order first, as order_transition does. Returns units released."""
    actor = Actor.system()
    with transaction.atomic():
        order = (Order.objects.select_for_update(of=("self",)).select_related("channel")
                 .filter(pk=order_id, status=Status.ON_HOLD).first())
        if order is None:  # released, cancelled or otherwise moved on meanwhile: nothing of ours to give back
            return 0
        units = stock_release(order_id=order.pk, actor=actor.label, reason="expired")
        if not units:
            return 0
        status_change_row(order=order, from_status=order.status, transition=RELEASE_EXPIRED, actor=actor,
                          reason=EXPIRED_REASON, payload={"units_released": units}).save()
        publish(topic=STOCK_RELEASED_TOPIC, order=order, lines=list(order.lines.all()), transition=RELEASE_EXPIRED,
                actor=actor, reason=EXPIRED_REASON)
    return units
