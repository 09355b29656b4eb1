"""The two places orders meet the rules: `compliance_screen` in ingest and `compliance_gate` before fulfilment.

Both hold a failing order with every failing rule listed, a ComplianceHold row holding the snapshot of the
failures, the audit row and the order.on_hold event. This module reads only orders' models and shared pieces, so
the order services can call it without an import cycle."""

from django.db import transaction
from rest_framework import status

from compliance.models import ComplianceHold
from compliance.rules import Failure, active_rules, evaluate, hold_reason
from inventory.selectors import sku_refusals
from orders.actors import Actor
from orders.fsm import Status, TransitionInput
from orders.models import Order, OrderStatusChange
from orders.services.common import publish, status_change_row
from ordersync.api import ApiError


class ComplianceHeld(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "compliance_hold"


def _hold(*, order: Order, failures: list[Failure], stage: str) -> OrderStatusChange:
    reason = hold_reason(failures)
    snapshot = [f.as_dict() for f in failures]
    from_status = order.status
    order.transition_input = TransitionInput(payload={"reason": reason})
    order.hold()
    order.save(update_fields=["status", "held_from", "hold_reason", "updated_at"])
    ComplianceHold.objects.create(order=order, stage=stage, failures=snapshot)
    return status_change_row(order=order, from_status=from_status, transition="hold", actor=Actor.system(),
                             reason=reason, payload={"rule": "compliance", "failures": snapshot})


def compliance_screen(*, order: Order, lines) -> list[OrderStatusChange]:
    """At ingest, inside its transaction, for a stored new order: [] when every rule passes, else the order is on
    hold (reserving nothing; releasing it reserves) and the audit row to write is returned.

    An order naming SKUs the channel cannot sell is not held: [] lets the reservation refuse it, as without rules."""
    failures = evaluate(order=order, lines=lines, rules=active_rules())
    if not failures or sku_refusals(orders={order.pk: {ln.sku for ln in lines}}, channel_id=order.channel_id):
        return []
    return [_hold(order=order, failures=failures, stage=ComplianceHold.Stage.INGEST)]


def compliance_screen_many(*, built) -> dict[int, list[OrderStatusChange]]:
    """Bulk ingest: {order id: the hold's audit rows} for each stored new order of `built` ([(order, lines)])
    that fails a rule, with the rules read once. The caller checks those orders' SKUs as it does for any order
    it holds without reserving, and rolls back what it refuses."""
    rules = active_rules()
    held = {}
    for order, lines in built:
        if failures := evaluate(order=order, lines=lines, rules=rules):
            held[order.pk] = [_hold(order=order, failures=failures, stage=ComplianceHold.Stage.INGEST)]
    return held


def compliance_gate(*, order_id: int, name: str, actor: Actor) -> None:
    """Before `start_fulfilment`: evaluates the rules again. Failures an operator already decided on (a hold of
    this order for the same rule, code and subject, since released) pass; any other failure puts the paid order
    on hold (committed) and raises 409 `compliance_hold` listing them. Other transitions pass untouched."""
    if name != "start_fulfilment":
        return
    with transaction.atomic():
        qs = Order.objects.select_for_update(of=("self",)).select_related("channel").filter(pk=order_id)
        if actor.channel_id is not None:
            qs = qs.filter(channel_id=actor.channel_id)
        order = qs.first()
        if order is None or order.status != Status.PAID:
            return  # order_transition gives the answer (not found, invalid transition)
        lines = list(order.lines.all())
        decided = {tuple(f[k] for k in ("rule", "code", "subject"))
                   for held in order.compliance_holds.all() for f in held.failures}
        failures = [f for f in evaluate(order=order, lines=lines, rules=active_rules()) if f.key not in decided]
        if not failures:
            return
        row = _hold(order=order, failures=failures, stage=ComplianceHold.Stage.FULFILMENT)
        row.save()
        publish(topic="order.on_hold", order=order, lines=lines, transition="hold", actor=Actor.system(),
                reason=row.reason)
    raise ComplianceHeld(f"Order {order.number} is on hold before fulfilment: {row.reason}.",
                         extra={"order_id": order.pk, "failures": [f.as_dict() for f in failures]})
