"""What the mail server's answers do to a notification (real SMTP server on 127.0.0.1, handler run in this
process): refusals and timeouts before the message went out are retried; a timeout after it went out is the
crash window again (unknown, never resent); two workers racing on one event send it once."""

import socket

import pytest
from django.core import mail

from notifications.models import Notification
from notifications.services import email_for_event
from sync.models import Delivery, Event
from sync.services import delivery_attempt
from tests.notifications.conftest import deliver_pending
from tests.notifications.smtp import Hang
from tests.orders.factories import make_order
from tests.threads import run_concurrently


@pytest.fixture
def smtp_settings(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    return settings


@pytest.mark.django_db
def test_a_temporary_refusal_is_retried_and_the_message_sent_once(smtp_settings, smtp_server, shop, email_endpoint):
    smtp_server.script(["451 4.3.0 Mailbox busy, try again"])
    make_order(shop)

    assert deliver_pending(email_endpoint) == ["retry", "succeeded"]
    row = Notification.objects.get()
    assert (row.state, row.attempts, row.error) == ("sent", 2, "")
    assert smtp_server.received() == 1 and smtp_server.refused == 1
    assert row.provider_message_id == smtp_server.messages[0]["Message-ID"].strip()


@pytest.mark.django_db
def test_a_server_that_never_greets_times_out_and_is_retried_without_sending(settings, shop, email_endpoint):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the kernel, but nobody ever says 220
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", silent.getsockname()[1]
    email_endpoint.read_timeout = 0.5
    email_endpoint.save(update_fields=["read_timeout"])
    try:
        make_order(shop)
        delivery = Delivery.objects.get(endpoint=email_endpoint)
        assert delivery_attempt(delivery_id=delivery.pk) == "retry"
    finally:
        silent.close()
    row = Notification.objects.get()
    assert row.state == "queued" and row.send_token is None and "timed out" in row.error


@pytest.mark.django_db
def test_a_timeout_after_the_message_went_out_is_unknown_and_not_resent(smtp_settings, smtp_server, shop,
                                                                       email_endpoint):
    email_endpoint.read_timeout = 0.5
    email_endpoint.save(update_fields=["read_timeout"])
    smtp_server.script([Hang(1.5)])  # stores the message, but answers after the client gave up
    make_order(shop)

    assert deliver_pending(email_endpoint) == ["succeeded"]
    row = Notification.objects.get()
    assert row.state == "unknown" and "may have taken it" in row.error and row.send_token is None
    assert smtp_server.received() == 1  # the customer has it: resending automatically would be a duplicate


@pytest.mark.django_db(transaction=True)
def test_two_workers_handling_the_same_event_at_once_send_it_once(smtp_settings, smtp_server, shop, email_endpoint):
    smtp_server.script([Hang(0.5), Hang(0.5)])  # slow enough that both are in flight together
    order = make_order(shop)
    event = Event.objects.get(order_id=order.pk, topic="order.created")

    def handle():
        return email_for_event(event_id=event.pk, topic=event.topic, payload=event.payload, timeout=2,
                               last_attempt=False)

    results = run_concurrently([handle, handle])

    assert all(kind == "ok" for kind, _ in results), results
    outcomes = sorted(result.ok for _, result in results)
    assert outcomes == [False, True]  # the loser is told to retry later: the winner is still sending
    loser = next(result for _, result in results if not result.ok)
    assert loser.retry_after and loser.retry_after > 0
    assert smtp_server.received() == 1 and Notification.objects.get().state == "sent"
    assert mail.outbox == []  # the real server got it, not the locmem backend


@pytest.mark.django_db
def test_a_kept_connection_the_server_dropped_is_replaced_within_the_same_attempt(smtp_settings, smtp_server, shop,
                                                                                  email_endpoint):
    make_order(shop)
    deliver_pending(email_endpoint)  # leaves this thread's SMTP connection open
    smtp_server.stop()  # the server goes away and comes back: the kept connection is dead
    smtp_server.start()
    make_order(shop)

    assert deliver_pending(email_endpoint) == ["succeeded"]
    assert smtp_server.received() == 2
    assert sorted(Notification.objects.values_list("attempts", flat=True)) == [1, 1]
