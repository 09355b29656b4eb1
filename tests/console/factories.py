"""An order with a story: an inbound message, history, deliveries with attempts and a notification."""

import itertools
import uuid
from datetime import timedelta

from django.utils import timezone

from channels_integration.models import InboundMessage
from notifications.models import Notification
from sync.models import Attempt, Delivery
from tests.sync.factories import publish

_keys = itertools.count(1)


def add_inbound(order, *, state=InboundMessage.State.FAILED, error="SKU-Z unknown"):
    return InboundMessage.objects.create(channel=order.channel, topic="orders/updated", dedupe_key=f"k{next(_keys)}",
                                         external_id=order.external_id, body=b"{}", state=state, error=error,
                                         order=order)


def add_delivery(order, endpoint, *, attempts=2, state=Delivery.State.DEAD, topic="order.paid"):
    event = publish(topic, order_id=order.pk)
    delivery = Delivery.objects.get(event=event, endpoint=endpoint)
    start = timezone.now() - timedelta(minutes=30)
    for n in range(attempts):
        Attempt.objects.create(delivery=delivery, started_at=start + timedelta(minutes=n), duration_ms=120 + n,
                               status_code=503, response_body=f"upstream busy #{n}", error="HTTP 503")
    Delivery.objects.filter(pk=delivery.pk).update(state=state, attempts=attempts, last_status_code=503,
                                                   last_error="HTTP 503")
    return delivery


def add_notification(order, *, state=Notification.State.SENT):
    return Notification.objects.create(order_id=order.pk, order_number=order.number, channel_code=order.channel.code,
                                       event_id=uuid.uuid4(), topic="order.created", recipient=order.customer_email,
                                       language="en", state=state)
