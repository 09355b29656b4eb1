"""Inbound messages in admin: bounded list queries, the raw body pretty-printed, and a re-process action that
needs its own permission and records who pressed it."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from channels_integration.connectors.inbound import inbound_process, inbound_receive
from channels_integration.connectors.payload import Identity
from channels_integration.models import InboundMessage
from orders.models import Order
from tests.channels_integration.payloads import encode, shopify_order

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:channels_integration_inboundmessage_changelist"


def staff(*codenames, name="operator"):
    user = User.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="channels_integration",
                                                        codename__in=["view_inboundmessage", *codenames]))
    return user


def receive(channel, payload, *, key, topic="orders/create") -> InboundMessage:
    return inbound_receive(channel=channel, identity=Identity(topic=topic, dedupe_key=key,
                                                               external_id=str(payload.get("id", ""))),
                           headers={"x-shopify-topic": topic, "x-shopify-webhook-id": key}, body=encode(payload))


@pytest.fixture
def failed(shop, catalogue):
    """A dozen messages that failed for a missing field (processed here, as the worker would)."""
    made = []
    for i in range(12):
        message = receive(shop, {**shopify_order(order_id=100 + i), "currency": None}, key=f"k-{i}")
        inbound_process(message_id=message.pk)
        made.append(message)
    return made


def test_changelist_queries_do_not_grow_with_messages(client, failed, django_assert_max_num_queries):
    client.force_login(staff())
    with django_assert_max_num_queries(10):
        response = client.get(reverse(CHANGELIST), {"state__exact": "failed"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 12
    assert "currency: is required" in response.content.decode()


def test_the_message_page_shows_the_body_pretty_printed_headers_and_error(client, failed):
    client.force_login(staff())
    page = client.get(reverse("admin:channels_integration_inboundmessage_change", args=[failed[0].pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "&quot;currency&quot;: null," in html and '\n  &quot;id&quot;: 100,' in html  # indented JSON
    assert "x-shopify-webhook-id" in html and "missing or invalid field currency: is required" in html


def test_reprocess_needs_its_permission_and_records_the_operator(client, failed, shop):
    viewer = staff(name="viewer")
    client.force_login(viewer)
    refused = client.post(reverse(CHANGELIST), {"action": "reprocess", "_selected_action": [failed[0].pk],
                                                "post": "yes"})
    assert refused.status_code == 200  # Django answers an unknown action by showing the list again
    assert InboundMessage.objects.get(pk=failed[0].pk).state == "failed"

    operator = staff("reprocess_inboundmessage", name="fixer")
    client.force_login(operator)
    # Stand-in for fixing the cause (here: the body itself) before pressing the button.
    InboundMessage.objects.filter(pk=failed[0].pk).update(body=encode(shopify_order(order_id=100)))
    confirm = client.post(reverse(CHANGELIST), {"action": "reprocess", "_selected_action": [failed[0].pk]})
    assert "Yes, go ahead" in confirm.content.decode()  # a confirmation page first
    assert InboundMessage.objects.get(pk=failed[0].pk).state == "failed"
    response = client.post(reverse(CHANGELIST), {"action": "reprocess", "_selected_action": [failed[0].pk],
                                                 "post": "yes"}, follow=True)
    assert "1 message(s) queued for processing again" in response.content.decode()
    message = InboundMessage.objects.get(pk=failed[0].pk)
    assert (message.state, message.reprocessed_by, message.reprocessed_at is not None) == ("received", operator,
                                                                                            True)
    assert inbound_process(message_id=message.pk) == "processed"  # what the queued task runs
    assert Order.objects.filter(external_id="100").exists()


def test_the_reprocess_action_is_not_a_view_permission():
    from channels_integration.connectors.admin import InboundMessageAdmin

    assert list(InboundMessageAdmin.reprocess.allowed_permissions) == ["reprocess"]
    assert Permission.objects.filter(codename="reprocess_inboundmessage").exists()
