"""SMS, push and chat go to a `notification` webhook endpoint of the sync engine (docs/NOTIFICATIONS.md): the
gateway receives the signed order event with everything it needs to write the message in the customer's
language. This checks the documented setup end to end against a real HTTP server."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from standardwebhooks import Webhook

from orders.fsm import Status
from sync.models import Delivery
from sync.services import delivery_attempt
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db


def test_an_sms_gateway_endpoint_gets_the_signed_shipped_event_with_phone_language_and_tracking(http_server, shop):
    out = StringIO()
    call_command("create_endpoint", "sms-gateway", "--kind", "notification", "--url", http_server.url("/sms"),
                 "--topics", "order.shipped,order.delivered", stdout=out)
    secret = json.loads(out.getvalue())["secret"]
    order = make_order(shop, Status.SHIPPED, customer_phone="+8613800138000", language="zh-CN")

    delivery = Delivery.objects.get(endpoint__name="sms-gateway")
    assert delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    (request,) = http_server.requests_for("/sms")
    body = Webhook(secret).verify(request.body, request.headers)
    assert body["type"] == "order.shipped"
    data = body["data"]
    assert (data["number"], data["customer"]["phone"], data["language"]) == (order.number, "+8613800138000", "zh-CN")
    assert (data["carrier"], data["tracking_number"]) == ("DHL", "TRACK-1")
