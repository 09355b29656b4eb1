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
    # The service looks up whether the order's stock is still reserved before running a guard that needs it.
    needs_stock_fact: bool = False

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
    needs_stock_fact=True,
)
reservation_expired = Guard(
    "reservation_expired",
    "the order's stock reservation has not expired",
    lambda o: not o.transition_input.stock_reserved,
    needs_stock_fact=True,
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


class StockEffect(models.TextChoices):
    """What a transition does to the order's stock (run by order_transition in the same transaction)."""

    NONE = "", "none"
    CONFIRM = "confirm", "reservation confirmed (no longer expires)"
    COMMIT = "commit", "reserved stock leaves the warehouse"
    RELEASE = "release", "reservation released unless the goods already left"


@dataclass(frozen=True)
class TransitionSpec:
    """Everything about a transition except its states and guards, which sit on the same decorator.

    Read by the API (scope, body fields, docs), admin (label, permission, form inputs), the service (topic,
    stock effect) and the model's permissions. A system-only transition has neither scope nor permission:
    no key and no user may run it, so it is never offered to one.
    """

    name: str
    label: str
    topic: str
    scope: str | None = None
    permission: tuple[str, str] | None = None  # (codename, label) of the Django permission orders.<codename>
    system_only: bool = False
    inputs: tuple[str, ...] = ("reason",)  # payload fields it takes (API body, admin form)
    required: tuple[str, ...] = ()  # of those, the ones the API and admin insist on
    stock: str = StockEffect.NONE
    release_reason: str = ""  # for StockEffect.RELEASE: the reason on the released reservations

    def __post_init__(self):
        if self.system_only != (self.scope is None and self.permission is None):
            raise ValueError(f"{self.name}: a transition is system-only exactly when it has no scope and no permission")
        if not set(self.required) <= set(self.inputs):
            raise ValueError(f"{self.name}: required fields must be among its inputs")
        if (self.stock == StockEffect.RELEASE) != bool(self.release_reason):
            raise ValueError(f"{self.name}: a stock release needs a release_reason, and only a release has one")

    @property
    def permission_name(self) -> str | None:
        return f"orders.{self.permission[0]}" if self.permission else None


# Filled by @lifecycle in class-body order; everything about transitions is read from here or from the FSM.
TRANSITIONS: dict[str, TransitionSpec] = {}


def lifecycle(*, source, target, conditions=(), **spec):
    """A django-fsm @transition on `status` and the TransitionSpec of the method it decorates, in one place."""

    def decorate(method):
        declared = TransitionSpec(name=method.__name__, **spec)
        TRANSITIONS[declared.name] = declared
        return transition(field="status", source=source, target=target, conditions=list(conditions),
                          permission=declared.permission_name, custom={"spec": declared})(method)

    return decorate


CANCELLABLE = [Status.NEW, Status.ON_HOLD, Status.PAID, Status.FULFILLING]
REFUNDABLE = [Status.PAID, Status.FULFILLING, Status.SHIPPED, Status.DELIVERED, Status.RETURNED]


class OrderLifecycle:
    """Transition methods for `Order.status`; mixed into the model so the table of transitions lives here."""

    transition_input: TransitionInput

    @lifecycle(source=Status.NEW, target=Status.PAID, conditions=[amount_matches_total],
               label="Mark paid", topic="order.paid", scope=PAYMENTS, permission=("pay_order", "Can mark orders paid"),
               inputs=("amount", "currency", "payment_reference"), required=("amount", "currency"),
               stock=StockEffect.CONFIRM)
    def pay(self):
        self.payment_reference = str(_payload(self).get("payment_reference", ""))[:100]

    @lifecycle(source=Status.PAID, target=Status.FULFILLING, conditions=[stock_reserved],
               label="Start fulfilment", topic="order.fulfilling", scope=LOGISTICS,
               permission=("fulfil_order", "Can start fulfilment of orders"))
    def start_fulfilment(self):
        pass

    @lifecycle(source=Status.FULFILLING, target=Status.SHIPPED, conditions=[has_tracking_number, stock_reserved],
               label="Mark shipped", topic="order.shipped", scope=LOGISTICS,
               permission=("ship_order", "Can mark orders shipped"),
               inputs=("tracking_number", "carrier"), required=("tracking_number",), stock=StockEffect.COMMIT)
    def ship(self):
        payload = _payload(self)
        self.tracking_number = str(payload["tracking_number"]).strip()[:100]
        self.carrier = str(payload.get("carrier", "")).strip()[:100]

    @lifecycle(source=Status.SHIPPED, target=Status.DELIVERED,
               label="Mark delivered", topic="order.delivered", scope=LOGISTICS,
               permission=("deliver_order", "Can mark orders delivered"))
    def deliver(self):
        pass

    @lifecycle(source=Status.DELIVERED, target=Status.RETURNED,
               label="Mark returned", topic="order.returned", scope=LOGISTICS,
               permission=("return_order", "Can mark orders returned"))
    def mark_returned(self):
        pass

    @lifecycle(source=REFUNDABLE, target=Status.REFUNDED, conditions=[has_reason],
               label="Refund", topic="order.refunded", scope=PAYMENTS, permission=("refund_order", "Can refund orders"),
               required=("reason",), stock=StockEffect.RELEASE, release_reason="refunded")
    def refund(self):
        pass

    @lifecycle(source=[Status.NEW, Status.PAID], target=Status.ON_HOLD, conditions=[has_reason],
               label="Put on hold", topic="order.on_hold", scope=ORDERS_WRITE,
               permission=("hold_order", "Can put orders on hold"), required=("reason",))
    def hold(self):
        self.held_from = self.status
        self.hold_reason = str(_payload(self)["reason"]).strip()

    @lifecycle(source=Status.ON_HOLD, target=GET_STATE(_resume_target, [Status.NEW, Status.PAID]),
               conditions=[stock_reserved],
               label="Release hold", topic="order.released", scope=ORDERS_WRITE,
               permission=("release_order", "Can release orders from hold"))
    def release_hold(self):
        pass

    @lifecycle(source=CANCELLABLE, target=Status.CANCELLED, conditions=[has_reason],
               label="Cancel", topic="order.cancelled", scope=ORDERS_WRITE,
               permission=("cancel_order", "Can cancel orders"), required=("reason",),
               stock=StockEffect.RELEASE, release_reason="cancelled")
    def cancel(self):
        self.cancel_reason = str(_payload(self)["reason"]).strip()

    # Run by the reservation-expiry task only. It publishes order.cancelled like a cancel: downstream systems
    # react the same way, while the audit trail tells the two apart.
    @lifecycle(source=Status.NEW, target=Status.CANCELLED, conditions=[reservation_expired],
               label="Expire", topic="order.cancelled", system_only=True, inputs=(),
               stock=StockEffect.RELEASE, release_reason="expired")
    def expire(self):
        self.cancel_reason = "reservation expired"


TRANSITION_NAMES = tuple(TRANSITIONS)
# The model's Meta.permissions: one custom permission per transition a person may run.
TRANSITION_PERMISSION_CODES = [spec.permission for spec in TRANSITIONS.values() if spec.permission]


def transition_table(model) -> list[dict]:
    """Every (source, transition, target) edge, read from the FSM itself; the diagram and the tests use it."""
    rows = []
    for t in model._meta.get_field("status").get_all_transitions(model):
        spec = t.custom["spec"]
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
                    "scope": spec.scope,
                    "topic": spec.topic,
                    "system_only": spec.system_only,
                }
            )
    return sorted(rows, key=lambda r: (list(Status.values).index(r["source"]), r["name"], r["target"]))


def allowed_from(model, state: str) -> list[str]:
    return sorted({row["name"] for row in transition_table(model) if row["source"] == state})
