import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from channels_integration.models import InboundMessage
from orders.fsm import Status
from orders.models import Order, OrderStatusChange
from sync.models import Delivery
from tests.console.factories import add_delivery, add_inbound
from tests.orders.factories import make_order, stock_skus
from tests.sync.factories import make_endpoint


@pytest.fixture
def orders(channel):
    stock_skus("SKU-A", "SKU-B")
    return {status: make_order(channel, status) for status in (Status.NEW, Status.SHIPPED, Status.ON_HOLD)}


def act(client, user, model, action, selected, follow=False, **fields):
    client.force_login(user)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(url, {"action": action, "_selected_action": [obj.pk for obj in selected], **fields},
                       follow=follow)


def status_of(order):
    return Order.objects.get(pk=order.pk).status


def test_cancel_shows_a_confirmation_page_first(client, operator_user, orders):
    response = act(client, operator_user, Order, "cancel_orders", [orders[Status.NEW]])
    body = response.content.decode()
    assert response.status_code == 200 and 'name="reason"' in body and orders[Status.NEW].number in body
    assert status_of(orders[Status.NEW]) == Status.NEW


def test_cancel_without_a_reason_changes_nothing(client, operator_user, orders):
    response = act(client, operator_user, Order, "cancel_orders", [orders[Status.NEW]], post="yes", reason=" ")
    assert response.status_code == 400
    assert status_of(orders[Status.NEW]) == Status.NEW


def test_cancel_runs_per_order_as_the_user_and_reports_refusals(client, operator_user, orders):
    new, shipped = orders[Status.NEW], orders[Status.SHIPPED]
    response = act(client, operator_user, Order, "cancel_orders", [new, shipped], post="yes", reason="fraud",
                   follow=True)
    body = response.content.decode()
    assert "Cancelled 1 order(s)." in body
    assert f"{shipped.number}: Cannot cancel an order that is shipped" in body
    assert (status_of(new), status_of(shipped)) == (Status.CANCELLED, Status.SHIPPED)
    change = OrderStatusChange.objects.filter(order=new).last()
    assert (change.user, change.reason) == (operator_user, "fraud")


def test_release_holds_through_the_service(client, operator_user, orders):
    held = orders[Status.ON_HOLD]
    act(client, operator_user, Order, "release_holds", [held], post="yes")
    assert status_of(held) == Status.NEW
    assert OrderStatusChange.objects.filter(order=held).last().user == operator_user


@pytest.mark.parametrize("action", ["cancel_orders", "release_holds"])
def test_a_viewer_cannot_run_order_actions(client, viewer, orders, action):
    act(client, viewer, Order, action, list(orders.values()), post="yes", reason="x")
    assert {status_of(o) for o in orders.values()} == {Status.NEW, Status.SHIPPED, Status.ON_HOLD}


@pytest.fixture
def dead(orders):
    endpoint = make_endpoint(url="http://127.0.0.1:9/hook")[0]
    return add_delivery(orders[Status.NEW], endpoint)


def test_replaying_dead_deliveries_asks_then_requeues_and_logs_the_user(client, operator_user, dead):
    assert "Yes, go ahead" in act(client, operator_user, Delivery, "replay", [dead]).content.decode()
    assert Delivery.objects.get(pk=dead.pk).state == Delivery.State.DEAD
    act(client, operator_user, Delivery, "replay", [dead], post="yes")
    assert Delivery.objects.get(pk=dead.pk).state == Delivery.State.PENDING
    entry = LogEntry.objects.get(object_id=str(dead.pk))
    assert entry.user == operator_user and "Replay" in entry.get_change_message()


def test_replay_dead_per_endpoint(client, operator_user, dead):
    act(client, operator_user, dead.endpoint.__class__, "replay_dead", [dead.endpoint], post="yes")
    assert Delivery.objects.get(pk=dead.pk).state == Delivery.State.PENDING


@pytest.mark.parametrize("action", ["replay", "cancel"])
def test_a_viewer_cannot_touch_deliveries(client, viewer, dead, action):
    act(client, viewer, Delivery, action, [dead], post="yes")
    assert Delivery.objects.get(pk=dead.pk).state == Delivery.State.DEAD
    assert not LogEntry.objects.exists()


def test_reprocess_failed_inbound_records_the_user(client, operator_user, orders):
    message = add_inbound(orders[Status.NEW])
    assert "Yes, go ahead" in act(client, operator_user, InboundMessage, "reprocess", [message]).content.decode()
    assert InboundMessage.objects.get(pk=message.pk).reprocessed_by is None
    act(client, operator_user, InboundMessage, "reprocess", [message], post="yes")
    assert InboundMessage.objects.get(pk=message.pk).reprocessed_by == operator_user


def test_a_viewer_cannot_reprocess(client, viewer, orders):
    message = add_inbound(orders[Status.NEW])
    act(client, viewer, InboundMessage, "reprocess", [message], post="yes")
    assert InboundMessage.objects.get(pk=message.pk).reprocessed_by is None
