"""Every state × transition pair, allowed and refused, through order_transition (the only way in)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Reservation
from orders.actors import Actor
from orders.errors import GuardFailed, InvalidTransition
from orders.fsm import TRANSITION_NAMES, TRANSITIONS, Status, allowed_from, transition_table
from orders.models import Order, OrderStatusChange
from orders.services import order_transition
from sync.models import Event
from tests.orders.factories import make_order, payload_for

S = Status
# The lifecycle as specified, written out by hand: the FSM in code must match it exactly.
EXPECTED_EDGES = {
    (S.NEW, "pay", S.PAID),
    (S.NEW, "hold", S.ON_HOLD),
    (S.NEW, "cancel", S.CANCELLED),
    (S.NEW, "expire", S.CANCELLED),
    (S.PAID, "start_fulfilment", S.FULFILLING),
    (S.PAID, "hold", S.ON_HOLD),
    (S.PAID, "cancel", S.CANCELLED),
    (S.PAID, "refund", S.REFUNDED),
    (S.FULFILLING, "ship", S.SHIPPED),
    (S.FULFILLING, "cancel", S.CANCELLED),
    (S.FULFILLING, "refund", S.REFUNDED),
    (S.SHIPPED, "deliver", S.DELIVERED),
    (S.SHIPPED, "refund", S.REFUNDED),
    (S.DELIVERED, "mark_returned", S.RETURNED),
    (S.DELIVERED, "refund", S.REFUNDED),
    (S.RETURNED, "refund", S.REFUNDED),
    (S.ON_HOLD, "release_hold", S.NEW),
    (S.ON_HOLD, "release_hold", S.PAID),
    (S.ON_HOLD, "cancel", S.CANCELLED),
}
ALL_PAIRS = [(state, name) for state in Status.values for name in TRANSITION_NAMES]


def test_fsm_in_code_matches_the_specified_lifecycle():
    assert {(r["source"], r["name"], r["target"]) for r in transition_table(Order)} == EXPECTED_EDGES


# Written out by hand, independently of orders/fsm.py: name -> (API scope, event topic, Django permission,
# body fields the API requires). None scope and permission: system-only (no key, no person may run it).
EXPECTED_TRANSITIONS = {
    "pay": ("payments", "order.paid", "orders.pay_order", ("amount", "currency")),
    "start_fulfilment": ("logistics", "order.fulfilling", "orders.fulfil_order", ()),
    "ship": ("logistics", "order.shipped", "orders.ship_order", ("tracking_number",)),
    "deliver": ("logistics", "order.delivered", "orders.deliver_order", ()),
    "mark_returned": ("logistics", "order.returned", "orders.return_order", ()),
    "refund": ("payments", "order.refunded", "orders.refund_order", ("reason",)),
    "hold": ("orders:write", "order.on_hold", "orders.hold_order", ("reason",)),
    "release_hold": ("orders:write", "order.released", "orders.release_order", ()),
    "cancel": ("orders:write", "order.cancelled", "orders.cancel_order", ("reason",)),
    "expire": (None, "order.cancelled", None, ()),
}


def test_every_transition_has_the_specified_scope_topic_permission_and_body():
    declared = {name: (spec.scope, spec.topic, spec.permission_name, spec.required)
                for name, spec in TRANSITIONS.items()}
    assert declared == EXPECTED_TRANSITIONS
    assert {name for name, spec in TRANSITIONS.items() if spec.system_only} == {"expire"}
    # What the FSM, the model's permissions and the edges read is the same declaration.
    for row in transition_table(Order):
        scope, topic, permission, _ = EXPECTED_TRANSITIONS[row["name"]]
        assert (row["scope"], row["topic"], row["permission"]) == (scope, topic, permission)
    assert {f"orders.{code}" for code, _ in Order._meta.permissions} == {
        permission for _, _, permission, _ in EXPECTED_TRANSITIONS.values() if permission
    }


def test_the_api_body_and_the_admin_form_take_the_fields_each_transition_declares():
    from orders.admin import TransitionForm
    from orders.api.serializers import TransitionInSerializer

    fields = set(TransitionInSerializer().fields)
    for spec in TRANSITIONS.values():
        form = TransitionForm(spec=spec)
        assert set(spec.inputs) <= fields and list(form.fields) == list(spec.inputs), spec.name
        assert {name for name, field in form.fields.items() if field.required} == set(spec.required), spec.name


def test_nothing_leaves_the_terminal_states():
    assert allowed_from(Order, S.CANCELLED) == []
    assert allowed_from(Order, S.REFUNDED) == []


def _expire_reservations(order):
    Reservation.objects.filter(order_id=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


@pytest.mark.parametrize(("state", "name"), ALL_PAIRS, ids=[f"{s}-{n}" for s, n in ALL_PAIRS])
def test_state_transition_pair(channel, skus, state, name):
    order = make_order(channel, state)
    expected = {target for source, n, target in EXPECTED_EDGES if source == state and n == name}
    if name == "expire" and expected:
        _expire_reservations(order)
    changes_before = OrderStatusChange.objects.filter(order=order).count()
    events_before = Event.objects.filter(order_id=order.pk).count()

    if expected:
        moved = order_transition(order_id=order.pk, name=name, actor=Actor.system(), payload=payload_for(name, order))
        assert moved.status in expected
        assert Order.objects.get(pk=order.pk).status == moved.status
        change = OrderStatusChange.objects.filter(order=order).latest("id")
        assert (change.from_status, change.to_status, change.transition, change.actor) == (
            state, moved.status, name, "system"
        )
        assert Event.objects.filter(order_id=order.pk).latest("sequence").topic == EXPECTED_TRANSITIONS[name][1]
    else:
        with pytest.raises(InvalidTransition) as exc:
            order_transition(order_id=order.pk, name=name, actor=Actor.system(), payload=payload_for(name, order))
        assert exc.value.status_code == 409
        assert exc.value.extra["allowed"] == sorted({n for s, n, _ in EXPECTED_EDGES if s == state})
        assert Order.objects.get(pk=order.pk).status == state
        assert OrderStatusChange.objects.filter(order=order).count() == changes_before
        assert Event.objects.filter(order_id=order.pk).count() == events_before


def test_release_hold_returns_to_the_state_the_order_was_held_from(channel, skus):
    paid = make_order(channel, S.PAID)
    order_transition(order_id=paid.pk, name="hold", actor=Actor.system(), payload={"reason": "fraud check"})
    released = order_transition(order_id=paid.pk, name="release_hold", actor=Actor.system())
    assert released.status == S.PAID


@pytest.mark.parametrize(
    ("name", "payload", "guard"),
    [
        ("pay", {"amount": "25.49", "currency": "EUR"}, "amount_matches_total"),
        ("pay", {"amount": "25.50", "currency": "USD"}, "amount_matches_total"),
        ("pay", {"amount": "not a number", "currency": "EUR"}, "amount_matches_total"),
        ("cancel", {"reason": "  "}, "has_reason"),
        ("hold", {}, "has_reason"),
    ],
)
def test_guards_refuse_with_their_names(channel, skus, name, payload, guard):
    order = make_order(channel, S.NEW)
    with pytest.raises(GuardFailed) as exc:
        order_transition(order_id=order.pk, name=name, actor=Actor.system(), payload=payload)
    assert exc.value.extra["guards"] == [guard]
    assert Order.objects.get(pk=order.pk).status == S.NEW


def test_ship_needs_tracking_number_and_reserved_stock(channel, skus):
    order = make_order(channel, S.FULFILLING)
    with pytest.raises(GuardFailed) as exc:
        order_transition(order_id=order.pk, name="ship", actor=Actor.system(), payload={"tracking_number": ""})
    assert exc.value.extra["guards"] == ["has_tracking_number"]
    Reservation.objects.filter(order_id=order.pk).update(state=Reservation.State.RELEASED)
    with pytest.raises(GuardFailed) as exc:
        order_transition(order_id=order.pk, name="ship", actor=Actor.system(), payload={"tracking_number": "T1"})
    assert exc.value.extra["guards"] == ["stock_reserved"]


def test_expire_refuses_while_the_reservation_is_live(channel, skus):
    order = make_order(channel, S.NEW)
    with pytest.raises(GuardFailed) as exc:
        order_transition(order_id=order.pk, name="expire", actor=Actor.system(), payload={})
    assert exc.value.extra["guards"] == ["reservation_expired"]


def test_status_cannot_be_assigned_directly(channel, skus):
    order = make_order(channel, S.NEW)
    with pytest.raises(AttributeError):
        order.status = S.SHIPPED
