"""Cancelling unpaid orders whose stock reservation ran out (run by the beat task)."""

import logging

from django.utils import timezone

from inventory.selectors import expired_reservation_order_ids
from inventory.services import stock_release
from orders.actors import Actor
from orders.errors import InvalidTransition
from orders.fsm import Status
from orders.services.transitions import order_transition
from ordersync.api import ApiError

logger = logging.getLogger(__name__)


def order_expire_due(*, now=None, limit: int = 500) -> list[int]:
    """Expires each due order in its own transaction; an order paid or held meanwhile is skipped, not an error."""
    expired = []
    for order_id in expired_reservation_order_ids(now=now or timezone.now(), limit=limit):
        try:
            order_transition(order_id=order_id, name="expire", actor=Actor.system(),
                             payload={"reason": "reservation expired"})
        except InvalidTransition as exc:
            # Held orders keep their status for review but give the stock back; lifting the hold reserves again.
            if exc.extra.get("status") == Status.ON_HOLD:
                stock_release(order_id=order_id, actor="system", reason="expired")
            logger.info("order %s not expired: %s", order_id, exc.detail)
            continue
        except ApiError as exc:
            logger.info("order %s not expired: %s (%s)", order_id, exc.detail, exc.code)
            continue
        expired.append(order_id)
    return expired
