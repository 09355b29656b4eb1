"""Rule edits (each audited) and an operator's decision on an order held by the rules."""

from django.db import transaction
from django.utils import timezone
from rest_framework import status

from compliance.models import ComplianceHold, ComplianceRule, RuleChange
from orders.actors import Actor
from orders.services import order_transition
from ordersync.api import ApiError

EDITABLE = ("name", "kind", "active", *ComplianceRule.ALL_PARAMETERS)


class ReasonRequired(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "reason_required"
    default_detail = "reason: a reason is required to release or cancel an order held by compliance rules."


def _jsonable(value):
    return str(value) if value is not None and not isinstance(value, bool | int | str | list) else value


def rule_save(*, rule: ComplianceRule, user) -> ComplianceRule:
    """Validates (ValidationError naming the field), saves with the version bumped, and writes the RuleChange
    row of who changed which field from what to what, in one transaction. Saving without a change writes nothing."""
    rule.full_clean()
    with transaction.atomic():
        before = None
        if rule.pk is not None:
            before = ComplianceRule.objects.select_for_update().get(pk=rule.pk)
        changes = {
            field: [None if before is None else _jsonable(getattr(before, field)), _jsonable(getattr(rule, field))]
            for field in EDITABLE
            if before is None or getattr(before, field) != getattr(rule, field)
        }
        if not changes:
            return rule
        rule.version = 1 if before is None else before.version + 1
        rule.save()
        RuleChange.objects.create(rule=rule, version=rule.version, actor=f"user:{user.get_username()}", user=user,
                                  changes=changes)
    return rule


def _decide(*, order_id: int, user, reason: str, transition: str, decision: str):
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    with transaction.atomic():
        order = order_transition(order_id=order_id, name=transition, actor=Actor.for_user(user),
                                 payload={"reason": reason})
        ComplianceHold.objects.filter(order_id=order_id, decision=ComplianceHold.Decision.PENDING).update(
            decision=decision, decided_by=user, decision_reason=reason, decided_at=timezone.now())
    return order


def compliance_release(*, order_id: int, user, reason: str):
    """Lifts the hold (reserving the stock if the order has none), recording who released it and why."""
    return _decide(order_id=order_id, user=user, reason=reason, transition="release_hold",
                   decision=ComplianceHold.Decision.RELEASED)


def compliance_cancel(*, order_id: int, user, reason: str):
    return _decide(order_id=order_id, user=user, reason=reason, transition="cancel",
                   decision=ComplianceHold.Decision.CANCELLED)
