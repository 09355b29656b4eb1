"""customer_export / customer_erase over every model holding personal data; the registry is checked against
every installed model so a new personal field cannot be missed."""

import json
import re

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models

from channels_integration.models import InboundMessage
from compliance.models import Erasure
from compliance.personal_data import NOT_PERSONAL, PERSONAL_FIELDS
from notifications.models import Notification
from orders.fsm import Status
from orders.models import Order, OrderLine, OrderStatusChange
from sync.models import Event
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db
LOOKS_PERSONAL = re.compile(r"email|name|phone|address|recipient|body|payload|headers")
EMAIL = "ada@example.com"


def test_every_field_that_looks_personal_is_declared():
    missing = []
    for model in apps.get_models():
        label = model._meta.label
        for field in model._meta.concrete_fields:
            looks = LOOKS_PERSONAL.search(field.name) or isinstance(
                field, models.JSONField | models.BinaryField | models.EmailField)
            declared = (field.name in PERSONAL_FIELDS.get(label, ()) or label in NOT_PERSONAL
                        or f"{label}.{field.name}" in NOT_PERSONAL or model._meta.app_label in NOT_PERSONAL)
            if looks and not declared:
                missing.append(f"{label}.{field.name}")
    assert missing == []


def test_every_declared_field_exists():
    for label, fields in PERSONAL_FIELDS.items():
        model = apps.get_model(label)
        for name in fields:
            model._meta.get_field(name)


@pytest.fixture
def history(channel, skus):
    delivered = make_order(channel, Status.DELIVERED, customer_phone="+44 20 7946 0958")
    cancelled = make_order(channel, Status.CANCELLED)
    other = make_order(channel, Status.DELIVERED, customer_email="bob@example.com", customer_name="Bob")
    InboundMessage.objects.create(channel=channel, topic="orders/create", dedupe_key="d1", order=delivered,
                                  body=json.dumps({"email": EMAIL, "name": "Ada Lovelace"}).encode(),
                                  headers={"X-Customer": EMAIL})
    import uuid

    Notification.objects.create(order_id=delivered.pk, order_number=delivered.number, channel_code=channel.code,
                                event_id=uuid.uuid4(), topic="order.delivered", recipient=EMAIL,
                                subject="Your order", body_text="Dear Ada Lovelace")
    return delivered, cancelled, other


def test_export_holds_everything(history, capsys):
    call_command("customer_export", "ADA@example.com")
    data = json.loads(capsys.readouterr().out)
    assert {o["number"] for o in data["orders"]} == {history[0].number, history[1].number}
    assert data["orders"][0]["lines"] and data["orders"][0]["status_history"]
    assert "Ada Lovelace" in data["inbound_messages"][0]["body"]
    assert data["notifications"][0]["body_text"] == "Dear Ada Lovelace"
    assert {e["order_id"] for e in data["events"]} == {history[0].pk, history[1].pk}


def snapshot():
    return (list(Order.objects.order_by("id").values_list("total", "status", "currency")),
            list(OrderLine.objects.order_by("id").values_list("sku", "quantity", "unit_price", "line_total")),
            list(OrderStatusChange.objects.order_by("id").values()))


def test_erase_anonymises_everything_and_keeps_amounts_skus_history(history, capsys):
    delivered, cancelled, other = history
    before = snapshot()
    call_command("customer_erase", EMAIL, "--actor", "dpo@shop")
    assert "erased" in capsys.readouterr().out
    assert snapshot() == before
    for order in Order.objects.filter(pk__in=[delivered.pk, cancelled.pk]):
        assert (order.customer_email, order.customer_name, order.customer_phone) == ("", "erased", "")
        assert order.shipping_address == {} and order.billing_address == {}
    assert Order.objects.get(pk=other.pk).customer_name == "Bob"
    message = InboundMessage.objects.get()
    assert bytes(message.body) == b"{}" and message.headers == {}
    assert Notification.objects.get().recipient == "" and Notification.objects.get().body_text == ""
    dump = json.dumps([e.payload for e in Event.objects.filter(order_id__in=[delivered.pk, cancelled.pk])])
    assert EMAIL not in dump and "Ada" not in dump and "7946" not in dump
    assert "SKU-A" in dump
    assert "bob@example.com" in json.dumps([e.payload for e in Event.objects.filter(order_id=other.pk)])
    erasure = Erasure.objects.get()
    assert erasure.actor == "dpo@shop" and erasure.counts["orders"] == 2 and EMAIL not in json.dumps(erasure.counts)
    capsys.readouterr()
    call_command("customer_export", EMAIL)
    assert "nothing found" in capsys.readouterr().err


def test_erase_refuses_open_orders_unless_forced(channel, skus):
    paid = make_order(channel, Status.PAID)
    with pytest.raises(CommandError, match=paid.number):
        call_command("customer_erase", EMAIL, "--actor", "dpo")
    assert Order.objects.get().customer_email == EMAIL and not Erasure.objects.exists()
    call_command("customer_erase", EMAIL, "--actor", "dpo", "--force")
    assert Order.objects.get().customer_email == "" and Erasure.objects.get().forced


def test_unknown_email_touches_nothing(history, capsys):
    before = snapshot(), list(Order.objects.values())
    call_command("customer_erase", "nobody@example.com", "--actor", "dpo")
    assert "nothing found" in capsys.readouterr().out
    call_command("customer_export", "nobody@example.com")
    assert "nothing found" in capsys.readouterr().err
    assert (snapshot(), list(Order.objects.values())) == before and not Erasure.objects.exists()
