"""Order events become customer email through the handler endpoint (in this process, Django's locmem backend):
the right message once per event, in the right language, with the right tracking link, and the bad cases."""

import pytest
from django.core import mail

from notifications.models import ChannelNotificationSettings, Notification
from notifications.services import notification_resend
from orders.actors import Actor
from orders.fsm import Status
from orders.models import Order
from orders.services import order_transition
from sync.models import Delivery, OperatorAlert
from sync.services import deliveries_replay
from tests.factories import ChannelFactory
from tests.notifications.conftest import deliver_pending
from tests.orders.factories import make_order, payload_for

pytestmark = pytest.mark.django_db

DHL_LINK = "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id=TRACK-1"


def advance(order, *names):
    for name in names:
        order = order_transition(order_id=order.pk, name=name, actor=Actor.system(), payload=payload_for(name, order))
    return order


def html_of(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_each_order_event_emails_the_customer_once_with_the_tracking_link_when_shipped(shop, email_endpoint):
    order = make_order(shop, Status.DELIVERED)
    advance(order, "refund")
    deliver_pending(email_endpoint)

    subjects = [m.subject for m in mail.outbox]
    number = order.number
    assert subjects == [f"We have received your order {number}", f"Payment received for order {number}",
                        f"Your order {number} is on its way", f"Your order {number} has been delivered",
                        f"Your refund for order {number}"]  # order.fulfilling does not notify
    shipped = mail.outbox[2]
    assert shipped.to == ["ada@example.com"] and shipped.from_email == "Demo Shop <orders@ordersync.localhost>"
    assert DHL_LINK in shipped.body and "TRACK-1" in shipped.body
    assert f'href="{DHL_LINK.replace("&", "&amp;")}"' in html_of(shipped)
    assert "€25.50" in shipped.body and "November 20, 2026" in shipped.body
    assert 'style="' in html_of(shipped) and "<style>" not in html_of(shipped)  # CSS inlined for mail clients
    rows = Notification.objects.order_by("created_at")
    assert [r.state for r in rows] == ["sent"] * 5
    assert [r.provider_message_id for r in rows] == [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert rows[2].subject == shipped.subject and DHL_LINK in rows[2].body_text


def test_a_duplicated_or_replayed_delivery_never_sends_twice(shop, email_endpoint):
    make_order(shop, Status.PAID)
    deliver_pending(email_endpoint)
    assert len(mail.outbox) == 2

    deliveries_replay(delivery_ids=list(Delivery.objects.filter(endpoint=email_endpoint).values_list("pk", flat=True)))
    outcomes = deliver_pending(email_endpoint)

    assert outcomes.count("succeeded") == 2 and len(mail.outbox) == 2
    assert Notification.objects.filter(state="sent").count() == 2


def test_a_chinese_order_gets_chinese_email_with_money_and_dates_for_its_language(shop, email_endpoint):
    order = make_order(shop, Status.SHIPPED, language="zh-CN", customer_name="李雷")
    deliver_pending(email_endpoint)

    shipped = mail.outbox[-1]
    assert shipped.subject == f"您的订单 {order.number} 已发货"
    assert "李雷，您好：" in shipped.body and "跟踪包裹" in shipped.body and DHL_LINK in shipped.body
    assert "€25.50" in shipped.body and "2026年11月20日" in shipped.body
    assert 'lang="zh-hans"' in html_of(shipped) and shipped.extra_headers["Content-Language"] == "zh-hans"
    assert set(Notification.objects.values_list("language", flat=True)) == {"zh-hans"}


@pytest.mark.parametrize(("order_language", "channel_language", "expected"), [
    ("fr", "zh-hans", "zh-hans"),  # no French templates: the channel's language
    ("fr", "", "en"),  # neither: English
    ("zh", "", "zh-hans"),
    ("en-GB", "zh-hans", "en"),
])
def test_the_language_is_the_orders_then_the_channels_then_english(shop, email_endpoint, order_language,
                                                                  channel_language, expected):
    ChannelNotificationSettings.objects.create(channel=shop, default_language=channel_language)
    make_order(shop, language=order_language)
    deliver_pending(email_endpoint)
    assert Notification.objects.get().language == expected
    assert ("我们已收到" in mail.outbox[0].subject) == (expected == "zh-hans")


def test_per_channel_sender_reply_to_and_carrier_tracking_template(shop, email_endpoint):
    ChannelNotificationSettings.objects.create(
        channel=shop, sender_name="Ada's Gadgets", reply_to="help@gadgets.example",
        tracking_urls={"dhl": "https://track.example/dhl/{tracking_number}?lang=de"},
    )
    make_order(shop, Status.SHIPPED)
    deliver_pending(email_endpoint)

    shipped = mail.outbox[-1]
    assert shipped.from_email == "Ada's Gadgets <orders@ordersync.localhost>"
    assert shipped.reply_to == ["help@gadgets.example"]
    assert "https://track.example/dhl/TRACK-1?lang=de" in shipped.body and DHL_LINK not in shipped.body


def test_an_order_without_email_is_suppressed_with_the_reason_and_its_flow_goes_on(shop, email_endpoint):
    order = make_order(shop, customer_email="")
    advance(order, "pay")
    outcomes = deliver_pending(email_endpoint)

    assert outcomes == ["succeeded", "succeeded"] and mail.outbox == []
    assert Order.objects.get(pk=order.pk).status == Status.PAID
    assert list(Notification.objects.values_list("state", "error")) == [
        ("suppressed", "the order has no email address")] * 2


def test_an_invalid_email_is_suppressed_with_the_reason(shop, email_endpoint):
    order = make_order(shop)
    Order.objects.filter(pk=order.pk).update(customer_email="ada@@example")  # as a channel's raw data might hold
    advance(order, "pay")
    deliver_pending(email_endpoint)

    paid = Notification.objects.get(topic="order.paid")
    assert (paid.state, paid.error, paid.recipient) == ("suppressed", "invalid email address 'ada@@example'",
                                                        "ada@@example")
    assert [m.subject for m in mail.outbox] == [f"We have received your order {order.number}"]


def test_shopify_channels_are_suppressed_by_default_and_rules_turn_events_off(email_endpoint, skus):
    shopify = ChannelFactory(code="shopify-demo", kind="shopify")
    quiet = ChannelFactory(code="quiet")
    ChannelNotificationSettings.objects.create(channel=quiet, events=["order.shipped"])
    make_order(shopify)
    make_order(quiet)
    deliver_pending(email_endpoint)

    assert mail.outbox == []
    assert dict(Notification.objects.values_list("channel_code", "error")) == {
        "shopify-demo": "channel shopify-demo emails its customers itself",
        "quiet": "order.created emails are turned off for channel quiet",
    }


def test_a_template_error_fails_that_notification_visibly_and_others_still_go(shop, email_endpoint, settings,
                                                                              tmp_path):
    broken = tmp_path / "notifications" / "email"
    broken.mkdir(parents=True)
    (broken / "order_paid.html").write_text("{% extends 'notifications/email/base.html' %}{% block intro %}"
                                            "{% unknown_tag %}{% endblock %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    paid = make_order(shop, Status.PAID)
    other = make_order(shop)
    deliver_pending(email_endpoint)

    failed = Notification.objects.get(topic="order.paid")
    assert failed.state == "failed" and "template error in order_paid (en)" in failed.error
    assert "unknown_tag" in failed.error
    delivery = Delivery.objects.get(endpoint=email_endpoint, event_id=failed.event_id)
    assert delivery.state == "dead" and delivery.attempts == 1  # permanent: no pointless retries
    assert OperatorAlert.objects.filter(delivery=delivery, kind="delivery_dead").exists()
    assert sorted(m.subject for m in mail.outbox) == sorted(
        [f"We have received your order {paid.number}", f"We have received your order {other.number}"])

    # The operator fixes the template and replays the dead delivery: the same row is sent.
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]
    deliveries_replay(delivery_ids=[delivery.pk])
    deliver_pending(email_endpoint)
    failed.refresh_from_db()
    assert failed.state == "sent" and failed.error == "" and len(mail.outbox) == 3


def test_resend_records_a_new_row_and_sends_the_same_message_again(shop, email_endpoint):
    make_order(shop)
    deliver_pending(email_endpoint)
    original = Notification.objects.get()

    again = notification_resend(notification_id=original.pk, requested_by="support-1")
    assert again.state == "queued" and again.resend_of == original
    deliver_pending(email_endpoint)

    again.refresh_from_db()
    assert (again.state, again.requested_by, again.recipient, again.event_id) == (
        "sent", "support-1", original.recipient, original.event_id)
    assert len(mail.outbox) == 2 and mail.outbox[0].body == mail.outbox[1].body
    assert mail.outbox[0].subject == mail.outbox[1].subject
    assert again.provider_message_id != original.provider_message_id
    original.refresh_from_db()
    assert original.state == "sent"


def test_a_settings_change_applies_to_the_next_email_at_once(shop, email_endpoint):
    order = make_order(shop)
    deliver_pending(email_endpoint)  # this process now holds the channel's rules
    rules = ChannelNotificationSettings.objects.create(channel=shop, sender_name="Renamed Shop")
    advance(order, "pay")
    deliver_pending(email_endpoint)
    rules.events = ["order.shipped"]
    rules.save()
    advance(order, "start_fulfilment", "ship")
    deliver_pending(email_endpoint)

    assert [m.from_email for m in mail.outbox] == ["Demo Shop <orders@ordersync.localhost>",
                                                   "Renamed Shop <orders@ordersync.localhost>",
                                                   "Renamed Shop <orders@ordersync.localhost>"]
    assert mail.outbox[-1].subject == f"Your order {order.number} is on its way"
