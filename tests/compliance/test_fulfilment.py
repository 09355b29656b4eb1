"""Before fulfilment the rules run again: a failure no operator has decided holds the paid order (409
`compliance_hold`, committed); released, it fulfils; failures already released at ingest do not hold it again."""

import pytest

from compliance.models import ComplianceHold
from compliance.screening import ComplianceHeld
from compliance.services import compliance_release, rule_save
from orders.actors import Actor
from orders.fsm import Status
from orders.models import Order
from orders.services import order_transition
from sync.models import Event
from tests.compliance.conftest import ingest
from tests.compliance.test_ingest import CASES
from tests.orders.factories import payload_for

pytestmark = pytest.mark.django_db


def pay(order):
    return order_transition(order_id=order.pk, name="pay", actor=Actor.system(), payload=payload_for("pay", order))


def fulfil(order):
    return order_transition(order_id=order.pk, name="start_fulfilment", actor=Actor.system())


@pytest.mark.parametrize("case", CASES)
def test_a_rule_added_after_ingest_holds_before_fulfilment(channel, skus, make_rule, officer, case):
    kind, params, failing, passing, code = CASES[case]
    order = pay(ingest(channel, **failing))
    good = pay(ingest(channel, **passing))
    rule = make_rule(kind, **params)
    with pytest.raises(ComplianceHeld) as info:
        fulfil(order)
    assert info.value.status_code == 409 and info.value.default_code == "compliance_hold"
    assert [(f["rule"], f["code"]) for f in info.value.extra["failures"]] == [(rule.pk, code)]
    order.refresh_from_db()
    assert (order.status, order.held_from) == (Status.ON_HOLD, Status.PAID)
    hold = ComplianceHold.objects.get(order=order)
    assert hold.stage == "fulfilment" and hold.failures == info.value.extra["failures"]
    assert Event.objects.filter(order_id=order.pk, topic="order.on_hold").count() == 1
    assert fulfil(good).status == Status.FULFILLING

    released = compliance_release(order_id=order.pk, user=officer, reason="reviewed")
    assert released.status == Status.PAID
    assert fulfil(released).status == Status.FULFILLING


def test_failures_released_at_ingest_do_not_hold_again_but_new_ones_do(channel, skus, make_rule, officer):
    first = make_rule("max_quantity", sku="SKU-A", max_quantity=1)
    order = ingest(channel)
    order = pay(compliance_release(order_id=order.pk, user=officer, reason="wholesale customer"))
    first.max_quantity = 0 + 1  # an edit (new version) of the rule already decided for this order
    first.name = "renamed"
    rule_save(rule=first, user=officer)
    second = make_rule("blocked_country", countries=["GB"])
    with pytest.raises(ComplianceHeld) as info:
        fulfil(order)
    assert [f["rule"] for f in info.value.extra["failures"]] == [second.pk]
    order = compliance_release(order_id=order.pk, user=officer, reason="licence on file")
    assert fulfil(order).status == Status.FULFILLING
    assert list(ComplianceHold.objects.filter(order=order).values_list("decision", flat=True)) == ["released"] * 2


def test_a_passing_order_fulfils_without_a_hold(channel, skus, make_rule):
    make_rule("blocked_country", countries=["US"])
    order = pay(ingest(channel))
    assert fulfil(order).status == Status.FULFILLING
    assert not ComplianceHold.objects.exists()


def test_the_gate_respects_the_callers_channel(channel, skus, make_rule):
    from tests.factories import ChannelFactory

    order = pay(ingest(channel))
    make_rule("blocked_country", countries=["GB"])
    other = ChannelFactory()
    with pytest.raises(Exception) as info:
        order_transition(order_id=order.pk, name="start_fulfilment", actor=Actor.for_channel(other))
    assert getattr(info.value, "default_code", "") == "not_found"
    assert Order.objects.get(pk=order.pk).status == Status.PAID
