"""Each rule holds a failing order at ingest with every failing rule listed, reserving nothing; an operator's
release (with a reason) reserves the stock, a cancel ends it; passing orders reserve as before."""

from decimal import Decimal

import pytest

from compliance.models import ComplianceHold
from compliance.services import ReasonRequired, compliance_cancel, compliance_release
from inventory.models import Reservation
from orders.fsm import Status
from orders.models import OrderStatusChange
from tests.compliance.conftest import ingest

pytestmark = pytest.mark.django_db

GB_PHONE = "+44 20 7946 0958"
LINES_WINE = [{"sku": "WINE-1", "quantity": 1, "unit_price": "12.00"}]

# (rule kind, rule params, order overrides that fail it, order overrides that pass it, failure code)
CASES = {
    "blocked_global": ("blocked_country", {"countries": ["GB"]}, {},
                       {"shipping_address": {"country": "FR"}}, "destination_blocked"),
    "blocked_sku": ("blocked_country", {"countries": ["GB"], "sku": "SKU-B"}, {},
                    {"lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "10.00"}]}, "destination_blocked"),
    "max_quantity": ("max_quantity", {"sku": "SKU-A", "max_quantity": 1}, {},
                     {"lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "10.00"}]}, "quantity_exceeded"),
    "value_review": ("value_review", {"currency": "EUR", "threshold": Decimal("25.50")}, {},
                     {"currency": "EUR", "lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "25.49"}]},
                     "value_review"),
    "phone": ("required_fields", {"countries": ["GB"], "required_fields": ["phone"]},
              {"customer_phone": "+49 30 1234567"}, {"customer_phone": GB_PHONE}, "invalid_phone"),
    "phone_missing": ("required_fields", {"countries": ["GB"], "required_fields": ["phone"]}, {},
                      {"shipping_address": {"country": "GB", "phone": "020 7946 0958"}}, "invalid_phone"),
    "country_iso": ("required_fields", {"required_fields": ["country"]},
                    {"shipping_address": {"country": "XX"}}, {}, "invalid_country"),
    "postal_code": ("required_fields", {"required_fields": ["shipping_address.postal_code"]},
                    {"shipping_address": {"country": "GB"}}, {}, "missing_field"),
    "age": ("age_restricted", {"sku": "WINE-1"}, {"lines": LINES_WINE},
            {"lines": LINES_WINE, "age_verified": True}, "age_verification_required"),
}


def reserved(order) -> int:
    return Reservation.objects.filter(order_id=order.pk, state="active").count()


@pytest.mark.parametrize("case", CASES)
def test_each_rule_holds_a_failing_order_and_passes_a_good_one(channel, skus, make_rule, case):
    kind, params, failing, passing, code = CASES[case]
    rule = make_rule(kind, **params)
    held = ingest(channel, **failing)
    assert held.status == Status.ON_HOLD and held.held_from == Status.NEW
    assert reserved(held) == 0
    hold = ComplianceHold.objects.get(order=held)
    assert [(f["rule"], f["version"], f["code"]) for f in hold.failures] == [(rule.pk, 1, code)]
    assert held.hold_reason == "compliance: " + hold.failures[0]["detail"]
    audit = OrderStatusChange.objects.get(order=held, transition="hold")
    assert audit.payload == {"rule": "compliance", "failures": hold.failures} and audit.actor == "system"

    ok = ingest(channel, **passing)
    assert ok.status == Status.NEW and reserved(ok) > 0
    assert not ComplianceHold.objects.filter(order=ok).exists()


def test_every_failing_rule_is_listed(channel, skus, make_rule):
    rules = [make_rule("blocked_country", countries=["GB"]),
             make_rule("max_quantity", sku="SKU-A", max_quantity=1),
             make_rule("required_fields", required_fields=["phone", "customer_email"]),
             make_rule("max_quantity", sku="SKU-B", max_quantity=5)]  # passes
    order = ingest(channel, customer_email="")
    failures = ComplianceHold.objects.get(order=order).failures
    assert [(f["rule"], f["code"]) for f in failures] == [
        (rules[0].pk, "destination_blocked"), (rules[1].pk, "quantity_exceeded"),
        (rules[2].pk, "invalid_phone"), (rules[2].pk, "missing_field")]
    assert order.hold_reason.count(";") == 3


def test_inactive_rules_are_not_evaluated(channel, skus, make_rule, officer):
    from compliance.services import rule_save

    rule = make_rule("blocked_country", countries=["GB"])
    rule.active = False
    rule_save(rule=rule, user=officer)
    assert ingest(channel).status == Status.NEW


def test_hold_details_carry_no_personal_data(channel, skus, make_rule):
    make_rule("required_fields", countries=["GB"], required_fields=["phone"])
    order = ingest(channel, customer_phone="+49 30 1234567")
    row = OrderStatusChange.objects.get(order=order, transition="hold")
    assert "1234567" not in row.reason + str(row.payload)
    assert "Ada" not in row.reason + str(row.payload)


@pytest.mark.parametrize("case", CASES)
def test_release_with_a_reason_reserves_and_records_the_operator(channel, skus, make_rule, officer, case):
    kind, params, failing, _passing, _code = CASES[case]
    make_rule(kind, **params)
    order = ingest(channel, **failing)
    with pytest.raises(ReasonRequired):
        compliance_release(order_id=order.pk, user=officer, reason="  ")
    released = compliance_release(order_id=order.pk, user=officer, reason="checked by phone")
    assert released.status == Status.NEW and reserved(released) > 0
    hold = ComplianceHold.objects.get(order=order)
    assert (hold.decision, hold.decided_by, hold.decision_reason) == ("released", officer, "checked by phone")
    row = OrderStatusChange.objects.filter(order=order).latest("id")
    assert (row.transition, row.user, row.reason) == ("release_hold", officer, "checked by phone")


def test_cancel_records_the_operator_and_releases_nothing_held(channel, skus, make_rule, officer):
    make_rule("blocked_country", countries=["GB"])
    order = ingest(channel)
    cancelled = compliance_cancel(order_id=order.pk, user=officer, reason="sanctioned destination")
    assert cancelled.status == Status.CANCELLED and reserved(cancelled) == 0
    hold = ComplianceHold.objects.get(order=order)
    assert (hold.decision, hold.decided_by) == ("cancelled", officer)


def test_a_rule_change_does_not_change_orders_already_decided(channel, skus, make_rule, officer):
    from compliance.services import rule_save

    rule = make_rule("max_quantity", sku="SKU-A", max_quantity=1)
    held = ingest(channel)
    passed = ingest(channel, lines=[{"sku": "SKU-A", "quantity": 1, "unit_price": "10.00"}])
    before = ComplianceHold.objects.get(order=held).failures
    rule.max_quantity = 10
    rule_save(rule=rule, user=officer)
    rule2 = make_rule("blocked_country", countries=["GB"])
    assert ComplianceHold.objects.get(order=held).failures == before
    held.refresh_from_db()
    passed.refresh_from_db()
    assert held.status == Status.ON_HOLD and "limit of 1" in held.hold_reason
    assert passed.status == Status.NEW and not ComplianceHold.objects.filter(order=passed).exists()
    assert rule2.pk not in {f["rule"] for f in before}


def test_channel_held_orders_keep_the_channel_reason(channel, skus, make_rule):
    from orders.actors import Actor
    from orders.services import order_ingest
    from tests.orders.factories import order_body, service_data

    make_rule("blocked_country", countries=["GB"])
    order = order_ingest(channel=channel, data=service_data(order_body()), actor=Actor.for_channel(channel),
                         hold_reason="line without SKU").order
    assert order.hold_reason == "line without SKU" and not ComplianceHold.objects.exists()
