"""The order lifecycle: states, transitions and their guards, declared once and read by everything else.

Transition methods are pure: they check guards and change fields on the instance, nothing more. The service
`order_transition` sets `order.transition_input` (the request payload plus facts it looked up, such as whether
stock is still reserved) before calling a method, so guards never do I/O themselves.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django_fsm import GET_STATE, transition

from channels_integration.scopes import LOGISTICS, ORDERS_WRITE, PAYMENTS


class Status(models.TextChoices):
    NEW = "new", "New (stock reserved)"
    PAID = "paid", "Paid"
    FULFILLING = "fulfilling", "Fulfilling"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"
    RETURNED = "returned", "Returned"


@dataclass
class TransitionInput:
    """What a guard may look at besides the order: the caller's payload and facts the service looked up."""

    payload: dict = field(default_factory=dict)
    stock_reserved: bool = False


@dataclass(frozen=True)
class Guard:
    name: str
    message: str
    check: object  # callable(order) -> bool

    def __call__(self, order) -> bool:
        return bool(self.check(order))


def _payload(order) -> dict:
    return order.transition_input.payload


def _present(key: str):
    return lambda order: str(_payload(order).get(key, "")).strip()


has_reason = Guard("has_reason", "a non-empty reason is required", _present("reason"))
has_tracking_number = Guard("has_tracking_number", "a tracking number is required", _present("tracking_number"))
stock_reserved = Guard(
    "stock_reserved",
    "the order's stock is not (or no longer) reserved",
    lambda o: o.transition_input.stock_reserved,
)
reservation_expired = Guard(
    "reservation_expired",
    "the order's stock reservation has not expired",
    lambda o: not o.transition_input.stock_reserved,
)


def _amount_matches_total(order) -> bool:
    payload = _payload(order)
    try:
        amount = Decimal(str(payload.get("amount")))
    except ArithmeticError:
        return False
    return payload.get("currency") == order.currency and amount == order.total


amount_matches_total = Guard(
    "amount_matches_total", "the paid amount and currency must equal the order total", _amount_matches_total
)


def _resume_target(order) -> str:
    return order.held_from or Status.NEW


# Public name -> (API scope, event topic). The Django permission is the `permission` on each @transition.
TRANSITION_SCOPES = {
    "pay": PAYMENTS,
    "start_fulfilment": LOGISTICS,
    "ship": LOGISTICS,
    "deliver": LOGISTICS,
    "mark_returned": LOGISTICS,
    "refund": PAYMENTS,
    "hold": ORDERS_WRITE,
    "release_hold": ORDERS_WRITE,
    "cancel": ORDERS_WRITE,
    # Only the reservation-expiry task runs this one: no API scope grants it.
    "expire": None,
}

TRANSITION_TOPICS = {
    "pay": "order.paid",
    "start_fulfilment": "order.fulfilling",
    "ship": "order.shipped",
    "deliver": "order.delivered",
    "mark_returned": "order.returned",
    "refund": "order.refunded",
    "hold": "order.on_hold",
    "release_hold": "order.released",
    "cancel": "order.cancelled",
    "expire": "order.cancelled",
}

CANCELLABLE = [Status.NEW, Status.ON_HOLD, Status.PAID, Status.FULFILLING]
REFUNDABLE = [Status.PAID, Status.FULFILLING, Status.SHIPPED, Status.DELIVERED, Status.RETURNED]


class OrderLifecycle:
    """Transition methods for `Order.status`; mixed into the model so the table of transitions lives here."""

    transition_input: TransitionInput

    @transition(field="status", source=Status.NEW, target=Status.PAID, conditions=[amount_matches_total],
                permission="orders.pay_order")
    def pay(self):
        self.payment_reference = str(_payload(self).get("payment_reference", ""))[:100]

    @transition(field="status", source=Status.PAID, target=Status.FULFILLING, conditions=[stock_reserved],
                permission="orders.fulfil_order")
    def start_fulfilment(self):
        pass

    @transition(field="status", source=Status.FULFILLING, target=Status.SHIPPED,
                conditions=[has_tracking_number, stock_reserved], permission="orders.ship_order")
    def ship(self):
        payload = _payload(self)
        self.tracking_number = str(payload["tracking_number"]).strip()[:100]
        self.carrier = str(payload.get("carrier", "")).strip()[:100]

    @transition(field="status", source=Status.SHIPPED, target=Status.DELIVERED, permission="orders.deliver_order")
    def deliver(self):
        pass

    @transition(field="status", source=Status.DELIVERED, target=Status.RETURNED, permission="orders.return_order")
    def mark_returned(self):
        pass

    @transition(field="status", source=REFUNDABLE, target=Status.REFUNDED, conditions=[has_reason],
                permission="orders.refund_order")
    def refund(self):
        pass

    @transition(field="status", source=[Status.NEW, Status.PAID], target=Status.ON_HOLD, conditions=[has_reason],
                permission="orders.hold_order")
    def hold(self):
        self.held_from = self.status
        self.hold_reason = str(_payload(self)["reason"]).strip()

    @transition(field="status", source=Status.ON_HOLD, target=GET_STATE(_resume_target, [Status.NEW, Status.PAID]),
                conditions=[stock_reserved], permission="orders.release_order")
    def release_hold(self):
        pass

    @transition(field="status", source=CANCELLABLE, target=Status.CANCELLED, conditions=[has_reason],
                permission="orders.cancel_order")
    def cancel(self):
        self.cancel_reason = str(_payload(self)["reason"]).strip()

    @transition(field="status", source=Status.NEW, target=Status.CANCELLED, conditions=[reservation_expired],
                permission="orders.expire_order")
    def expire(self):
        self.cancel_reason = "reservation expired"


TRANSITION_NAMES = tuple(TRANSITION_SCOPES)

TRANSITION_PERMISSION_CODES = [
    ("pay_order", "Can mark orders paid"),
    ("fulfil_order", "Can start fulfilment of orders"),
    ("ship_order", "Can mark orders shipped"),
    ("deliver_order", "Can mark orders delivered"),
    ("return_order", "Can mark orders returned"),
    ("refund_order", "Can refund orders"),
    ("hold_order", "Can put orders on hold"),
    ("release_order", "Can release orders from hold"),
    ("cancel_order", "Can cancel orders"),
    ("expire_order", "Can expire unpaid orders"),
]


TRANSITION_PERMISSIONS = {
    name: f"orders.{code}"
    for name, (code, _) in zip(TRANSITION_NAMES, TRANSITION_PERMISSION_CODES, strict=True)
}


def transition_table(model) -> list[dict]:
    """Every (source, transition, target) edge, read from the FSM itself; the diagram and the tests use it."""
    rows = []
    for t in model._meta.get_field("status").get_all_transitions(model):
        target = t.target
        targets = list(target.allowed_states) if hasattr(target, "allowed_states") else [target]
        for dest in targets:
            rows.append(
                {
                    "source": str(t.source),
                    "name": t.name,
                    "target": str(dest),
                    "guards": [c.name for c in t.conditions],
                    "permission": t.permission,
                    "scope": TRANSITION_SCOPES[t.name],
                    "topic": TRANSITION_TOPICS[t.name],
                }
            )
    return sorted(rows, key=lambda r: (list(Status.values).index(r["source"]), r["name"], r["target"]))


def allowed_from(model, state: str) -> list[str]:
    return sorted({row["name"] for row in transition_table(model) if row["source"] == state})
