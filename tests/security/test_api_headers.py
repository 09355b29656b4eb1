"""What API answers reveal beyond their body: customer data is never cached, staff names never reach a channel."""

import pytest
from django.contrib.auth.models import User

from orders.actors import Actor
from orders.services import order_transition
from tests.orders.factories import order_body


def test_every_api_answer_is_marked_no_store(live_api, operations):
    for op in operations:
        response = live_api.request(op.method, op.path, json={})
        assert "no-store" in response.headers.get("Cache-Control", ""), (str(op), response.headers)


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("post", "/api/v1/orders/", {"json": "ORDER"}),
    ("get", "/api/v1/orders/", {}),
    ("get", "/api/v1/orders/{id}/", {}),
    ("get", "/api/v1/orders/{id}/history/", {}),
    ("get", "/api/v1/orders/999999999/", {}),  # errors too: a proxy must not keep a 404 for a later order
])
def test_answers_with_customer_data_are_not_cacheable(live_api, method, path, kwargs):
    if kwargs.get("json") == "ORDER":
        kwargs = {"json": order_body()}
    response = live_api.request(method, path.replace("{id}", str(live_api.order.pk)), **kwargs)
    assert response.status_code < 500
    assert "no-store" in response.headers["Cache-Control"]


def test_a_channel_sees_operator_not_the_staff_username_in_history(live_api):
    staff = User.objects.create_superuser("jane.doe", "jane@example.com", "pw")
    order_transition(order_id=live_api.order.pk, name="hold", actor=Actor.for_user(staff),
                     payload={"reason": "address check"})
    history = live_api.get(f"/api/v1/orders/{live_api.order.pk}/history/").json()
    assert history[-1]["transition"] == "hold" and history[-1]["actor_kind"] == "user"
    assert history[-1]["actor"] == "operator"
    assert "jane" not in str(history)
    # The channel's own key still sees itself by its prefix; the operators' console keeps the name.
    assert history[0]["actor"].startswith("channel:")
    assert live_api.order.status_changes.latest("id").actor == "user:jane.doe"
