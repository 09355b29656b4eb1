"""Notification log and per-channel settings in admin: bounded queries, filters, the message shown safely,
resend only with its own permission, settings validated."""

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.urls import reverse

from notifications.models import ChannelNotificationSettings, Notification
from orders.fsm import Status
from sync.models import Event
from tests.notifications.conftest import deliver_pending
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db
LOG = "admin:notifications_notification_changelist"


def staff(*codenames, name="support"):
    user = User.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="notifications",
                                                        codename__in=["view_notification", *codenames]))
    return user


@pytest.fixture
def log(shop, email_endpoint):
    """Eleven orders: ten created emails sent, one shipped order with three sent; one suppressed (no email)."""
    for i in range(10):
        make_order(shop, customer_email=f"buyer{i}@example.com")
    make_order(shop, Status.SHIPPED)
    make_order(shop, customer_email="")
    deliver_pending(email_endpoint)
    mail.outbox.clear()
    return Notification.objects.all()


def test_the_log_list_has_bounded_queries_and_filters(client, log, django_assert_max_num_queries):
    client.force_login(staff())
    with django_assert_max_num_queries(12):
        response = client.get(reverse(LOG))
    assert response.status_code == 200 and response.context["cl"].result_count == 14
    assert client.get(reverse(LOG), {"state__exact": "suppressed"}).context["cl"].result_count == 1
    assert client.get(reverse(LOG), {"topic__exact": "order.shipped"}).context["cl"].result_count == 1
    assert client.get(reverse(LOG), {"q": "buyer3@example.com"}).context["cl"].result_count == 1
    english_email = {"language__exact": "en", "medium__exact": "email"}
    assert client.get(reverse(LOG), english_email).context["cl"].result_count == 14


def test_the_message_is_shown_as_sent_with_its_html_sandboxed_and_escaped(client, log):
    row = Notification.objects.get(topic="order.shipped")
    Notification.objects.filter(pk=row.pk).update(body_html=row.body_html + '<script>alert("x")</script>')
    client.force_login(staff())
    html = client.get(reverse("admin:notifications_notification_change", args=[row.pk])).content.decode()

    assert '<iframe sandbox="" srcdoc="' in html
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "Track your parcel" in html and row.subject in html


def test_resend_needs_its_own_permission_and_records_a_new_row(client, log):
    row = Notification.objects.get(topic="order.shipped")
    data = {"action": "resend", "_selected_action": [row.pk]}

    client.force_login(staff(name="viewer"))
    client.post(reverse(LOG), data)
    assert Notification.objects.count() == 14  # view permission alone cannot resend

    client.force_login(staff("resend_notification"))
    response = client.post(reverse(LOG), data, follow=True)
    assert "Queued 1 resend(s)" in response.content.decode()
    again = Notification.objects.get(resend_of=row)
    assert (again.state, again.requested_by, again.recipient) == ("queued", "support", row.recipient)
    assert Event.objects.filter(topic="notification.resend", payload__notification_id=again.pk).exists()


def test_a_notification_still_being_sent_is_not_resent_and_says_why(client, log):
    row = Notification.objects.filter(topic="order.created").first()
    Notification.objects.filter(pk=row.pk).update(state="queued")
    client.force_login(staff("resend_notification"))
    response = client.post(reverse(LOG), {"action": "resend", "_selected_action": [row.pk]}, follow=True)
    assert f"Not resent: notification {row.pk} is still being sent" in response.content.decode()
    assert not Notification.objects.filter(resend_of=row).exists()


def settings_form(shop, **overrides):
    data = {"channel": shop.pk, "sender_name": "Ada's Gadgets", "reply_to": "help@gadgets.example",
            "default_language": "zh-hans", "events": ["order.shipped", "order.delivered"],
            "tracking_urls": '{"GLS": "https://gls.example/track/{tracking_number}"}'}
    data.update(overrides)
    return data


def test_channel_settings_are_edited_in_admin(admin_client, shop):
    add_page = admin_client.get(reverse("admin:notifications_channelnotificationsettings_add")).content.decode()
    assert len(re.findall(r'<input type="checkbox" name="events" value="order\.\w+"[^>]* checked>', add_page)) == 6
    response = admin_client.post(reverse("admin:notifications_channelnotificationsettings_add"), settings_form(shop))
    assert response.status_code == 302
    saved = ChannelNotificationSettings.objects.get(channel=shop)
    assert saved.events == ["order.shipped", "order.delivered"] and saved.default_language == "zh-hans"
    assert saved.tracking_urls == {"GLS": "https://gls.example/track/{tracking_number}"}


@pytest.mark.parametrize(("tracking_urls", "message"), [
    ('{"GLS": "https://gls.example/track/"}', "must contain {tracking_number}"),
    ('{"GLS": "https://gls.example/{tracking_number}/{order}"}', "may use only {tracking_number}"),
    ('{"GLS": "javascript:alert({tracking_number})"}', "must be an http(s) address"),
    ('["https://gls.example/{tracking_number}"]', "Give an object of carrier"),
])
def test_bad_tracking_templates_are_refused_with_a_reason(admin_client, shop, tracking_urls, message):
    response = admin_client.post(reverse("admin:notifications_channelnotificationsettings_add"),
                                 settings_form(shop, tracking_urls=tracking_urls))
    assert response.status_code == 200 and message in response.content.decode()
    assert not ChannelNotificationSettings.objects.exists()
