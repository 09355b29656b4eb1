"""`order_transition`: the only way an order's status changes after ingest."""

import json
from decimal import Decimal

from django.db import OperationalError, transaction
from django_fsm import ConcurrentTransition, can_proceed
from psycopg.errors import LockNotAvailable

from compliance.screening import compliance_gate
from inventory.services import (
    InsufficientStock,
    LineRequest,
    UnknownSku,
    stock_commit,
    stock_release,
    stock_reservation_confirm,
    stock_reserve,
)
from orders.actors import Actor
from orders.errors import (
    GuardFailed,
    InsufficientStockError,
    InvalidTransition,
    OrderNotFound,
    TransitionForbidden,
    UnknownSkuError,
    UnknownTransition,
)
from orders.fsm import TRANSITION_NAMES, TRANSITIONS, Status, StockEffect, TransitionInput, allowed_from
from orders.models import Order
from orders.money import CURRENCY_EXPONENTS, fits_currency, money_str
from orders.selectors import order_stock_secured
from orders.services.common import publish, status_change_row
from orders.services.ingest import reservation_expiry
from ordersync.api import Conflict

SHIPPED_STATES = (Status.SHIPPED, Status.DELIVERED, Status.RETURNED)


def fsm_transition(order: Order, name: str):
    """The django-fsm Transition object for `name` from the order's current state (None if not allowed)."""
    return getattr(Order, name)._django_fsm.get_transition(order.status)


def actor_may(actor: Actor, name: str) -> bool:
    spec = TRANSITIONS[name]
    if actor.kind == "system":
        return True
    if spec.system_only:
        return False
    if actor.kind == "user":
        return actor.user.has_perm(spec.permission_name)
    return spec.scope in actor.scopes


def transition_authorise(*, actor: Actor, name: str) -> None:
    """Unknown name → 404, not permitted → 403. The API calls it before it even reads the body."""
    if name not in TRANSITIONS:
        raise UnknownTransition(f"No transition {name!r}; known: {', '.join(TRANSITION_NAMES)}.",
                                extra={"transitions": list(TRANSITION_NAMES)})
    if actor_may(actor, name):
        return
    spec = TRANSITIONS[name]
    if spec.system_only:
        raise TransitionForbidden(f"{name} is run by the system only.")
    if actor.kind == "user":
        raise TransitionForbidden(f"User {actor.user.get_username()} may not {name} orders.")
    raise TransitionForbidden(f"This API key lacks the scope {spec.scope!r} needed to {name} orders.")


def transitions_offered(*, actor: Actor, status: str) -> list[str]:
    """What this actor could run from `status`: what 409 answers list and admin shows buttons for."""
    return [name for name in allowed_from(Order, status) if actor_may(actor, name)]


def _amount_in_precision(payload: dict) -> dict:
    """"1500.000" JPY is recorded as "1500". An amount with more decimals than its currency has is left as sent:
    it cannot equal an order total, so the amount guard refuses it (the API answers 400 before this)."""
    amount, currency = payload.get("amount"), payload.get("currency")
    if amount is None or currency not in CURRENCY_EXPONENTS:
        return payload
    try:
        value = Decimal(str(amount))
        if fits_currency(value, currency):
            return {**payload, "amount": money_str(value, currency)}
    except ArithmeticError:  # not a number, or too large to quantise: the guard refuses it as sent
        pass
    return payload


def _lock(order_id: int, channel_id: int | None) -> Order:
    qs = Order.objects.select_for_update(nowait=True, of=("self",)).select_related("channel")
    if channel_id is not None:
        qs = qs.filter(channel_id=channel_id)
    try:
        order = qs.filter(pk=order_id).first()
    except OperationalError as exc:
        if not isinstance(exc.__cause__, LockNotAvailable):
            raise
        raise Conflict("Another change to this order is in progress; read it again and retry.") from exc
    if order is None:
        raise OrderNotFound()
    return order


def _ensure_reserved(order: Order, actor: Actor) -> bool:
    """Lifting a hold puts stock back on the order: it was held for lack of stock or its reservation expired."""
    stock_release(order_id=order.pk, actor=actor.label, reason="expired")
    try:
        with transaction.atomic():
            stock_reserve(
                order_id=order.pk,
                lines=[LineRequest(line_id=line.pk, sku_code=line.sku, quantity=line.quantity)
                       for line in order.lines.all()],
                expires_at=reservation_expiry(order.channel) if order.held_from == Status.NEW else None,
                actor=actor.label,
                channel_id=order.channel_id,
            )
    except InsufficientStock as exc:
        skus = sorted({s["sku"] for s in exc.shortages})
        raise InsufficientStockError(
            f"Still not enough stock for {', '.join(skus)}; the order stays on hold.",
            extra={"skus": skus, "shortages": exc.shortages},
        ) from exc
    except UnknownSku as exc:  # held by a channel adapter for a SKU inventory lacks: still not fixed
        codes = sorted(exc.codes)
        raise UnknownSkuError(f"The order still has unknown SKU(s) {', '.join(codes)}; add them to inventory "
                              "(or correct the order's lines) and release the hold again.",
                              extra={"skus": codes}) from exc
    return True


def _side_effects(order: Order, name: str, from_status: str, actor: Actor) -> None:
    spec = TRANSITIONS[name]
    if spec.stock == StockEffect.CONFIRM:
        stock_reservation_confirm(order_id=order.pk)
    elif spec.stock == StockEffect.COMMIT:
        stock_commit(order_id=order.pk, actor=actor.label)
    elif spec.stock == StockEffect.RELEASE and from_status not in SHIPPED_STATES:
        stock_release(order_id=order.pk, actor=actor.label, reason=spec.release_reason)


def order_transition(*, order_id: int, name: str, actor: Actor, payload: dict | None = None) -> Order:
    """Locks the order, checks permission and guards, applies the FSM, runs stock side effects, writes the audit
    row and publishes the event, all in one transaction. Refuses with a 409 when another change holds the lock."""
    transition_authorise(actor=actor, name=name)
    # JSON-native from here on: it is stored on the audit row as given, amounts in their currency's precision.
    payload = _amount_in_precision(json.loads(json.dumps(payload or {}, default=str)))
    compliance_gate(order_id=order_id, name=name, actor=actor)
    with transaction.atomic():
        order = _lock(order_id, actor.channel_id)
        if not can_proceed(getattr(order, name), check_conditions=False):
            allowed = transitions_offered(actor=actor, status=order.status)
            raise InvalidTransition(
                f"Cannot {name} an order that is {order.status}; you may: {', '.join(allowed) or 'nothing'}.",
                extra={"status": order.status, "allowed": allowed},
            )
        guards = fsm_transition(order, name).conditions
        reserved = False
        if any(guard.needs_stock_fact for guard in guards):
            reserved = order_stock_secured(order=order)
            if name == "release_hold" and not reserved:
                reserved = _ensure_reserved(order, actor)
        order.transition_input = TransitionInput(payload=payload, stock_reserved=reserved)
        failed = [guard for guard in guards if not guard(order)]
        if failed:
            raise GuardFailed(
                f"Cannot {name}: {'; '.join(g.message for g in failed)}.", extra={"guards": [g.name for g in failed]}
            )
        from_status = order.status
        getattr(order, name)()
        try:
            order.save()
        except ConcurrentTransition as exc:
            raise Conflict("The order changed while this transition ran; read it again and retry.") from exc
        _side_effects(order, name, from_status, actor)
        reason = str(payload.get("reason", "")).strip() or (order.cancel_reason if name == "expire" else "")
        status_change_row(order=order, from_status=from_status, transition=name, actor=actor, reason=reason,
                          payload={k: v for k, v in payload.items() if k != "reason"}).save()
        publish(topic=TRANSITIONS[name].topic, order=order, lines=list(order.lines.all()), transition=name,
                actor=actor, reason=reason)
    return order
