"""End to end with a real Celery worker process and a real SMTP server on 127.0.0.1: orders change in this
process, the worker delivers the events to the email handler, the SMTP server records what it accepted."""

import pytest

from notifications.models import Notification
from notifications.services import notification_resend
from orders.fsm import Status
from sync.models import Attempt, Delivery, Endpoint
from tests.harness.celery_worker import wait_until
from tests.notifications.smtp import SMTPServer, text_of
from tests.notifications.test_email import DHL_LINK, advance
from tests.orders.factories import make_order
from tests.sync.conftest import WORKER_ENV, Sweeper

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_broker]


@pytest.fixture
def sweeper(settings):
    """Beat's sweeper, run from a thread: re-dispatches retries and deliveries whose worker died."""
    settings.SYNC_NUDGE_TTL = 2
    settings.SYNC_LEASE_MARGIN = 0.5
    sweeper = Sweeper(interval=0.25).start()
    yield sweeper
    sweeper.stop()


def start_worker(celery_workers, smtp_url: str):
    return celery_workers.start(queues=["notification", "default"], env={**WORKER_ENV, "EMAIL_URL": smtp_url})


def rows_in(state: str, count: int):
    return lambda: Notification.objects.filter(state=state).count() >= count


def test_every_event_reaches_the_smtp_server_once_in_the_customers_language(celery_workers, smtp_server, shop,
                                                                           email_endpoint, sweeper):
    start_worker(celery_workers, smtp_server.url)
    english = make_order(shop, Status.DELIVERED)
    chinese = make_order(shop, Status.SHIPPED, language="zh-SG")
    cancelled = make_order(shop, Status.CANCELLED)
    refunded = advance(make_order(shop, Status.PAID), "refund")

    # created+paid+shipped+delivered, created+paid+shipped, created+cancelled, created+paid+refunded
    wait_until(rows_in("sent", 12), timeout=60, message="12 notifications sent by the worker")
    grouped = smtp_server.by_notification()
    assert len(grouped) == 12 and all(len(copies) == 1 for copies in grouped.values())
    subjects = {m["Subject"] for m in smtp_server.messages}
    assert {f"Your order {english.number} has been delivered", f"您的订单 {chinese.number} 已发货",
            f"Your order {cancelled.number} has been cancelled", f"Your refund for order {refunded.number}"} <= subjects
    shipped_zh = next(m for m in smtp_server.messages if m["Subject"] == f"您的订单 {chinese.number} 已发货")
    assert DHL_LINK in text_of(shipped_zh) and "跟踪包裹" in text_of(shipped_zh)
    assert shipped_zh["To"] == "ada@example.com" and shipped_zh["Content-Language"] == "zh-hans"
    assert shipped_zh.get_body(preferencelist=("html",)) is not None


def test_a_worker_killed_after_the_server_took_the_message_never_sends_it_twice(celery_workers, smtp_server, shop,
                                                                                 email_endpoint, sweeper):
    """The window between "the server has the message" and "the row says sent": the worker is SIGKILLed while the
    server stores the message, before the client reads the server's answer. The delivery's lease expires, the
    sweeper hands it to a new worker, which finds the send marker and records `unknown` instead of resending."""
    worker = start_worker(celery_workers, smtp_server.url)

    def kill_once(message):
        smtp_server.on_message.remove(kill_once)
        worker.kill()

    smtp_server.on_message.append(kill_once)
    order = make_order(shop)
    wait_until(lambda: worker.kills == 1, timeout=30, message="the worker to be killed mid-send")
    assert smtp_server.received() == 1
    row = Notification.objects.get()
    assert row.state == "queued" and row.send_token is not None  # the marker the dead worker left

    worker.start()
    wait_until(rows_in("unknown", 1), timeout=60, message="the retry to record the unknown outcome")
    row.refresh_from_db()
    assert "customer may have it" in row.error and row.attempts == 1 and row.body_html
    delivery = Delivery.objects.get(endpoint=email_endpoint, event_id=row.event_id)
    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).state == "succeeded", timeout=30,
               message="the delivery to finish")
    assert Attempt.objects.filter(delivery=delivery, error__startswith="worker lost").exists()
    assert smtp_server.received() == 1  # not sent again

    # The order's later events are not held up, and an operator can resend the unknown one.
    advance(order, "pay")
    again = notification_resend(notification_id=row.pk, requested_by="support")
    wait_until(rows_in("sent", 2), timeout=60, message="order.paid and the resend to be sent")
    again.refresh_from_db()
    assert again.state == "sent" and again.resend_of_id == row.pk
    assert sorted(m["Subject"] for m in smtp_server.messages) == sorted(
        [f"We have received your order {order.number}"] * 2 + [f"Payment received for order {order.number}"])


def test_an_smtp_outage_delays_the_mail_but_loses_none_and_sends_each_once(celery_workers, shop, email_endpoint,
                                                                         sweeper):
    Endpoint.objects.filter(pk=email_endpoint.pk).update(retry_schedule=[0] + [1] * 30)
    server = SMTPServer()  # its port is chosen, nothing listens on it yet: connection refused
    start_worker(celery_workers, server.url)
    orders = [make_order(shop) for _ in range(4)]

    wait_until(lambda: Notification.objects.filter(attempts__gte=2, state="queued").count() == 4, timeout=60,
               message="every notification to have failed at least twice")
    assert "ConnectionRefusedError" in Notification.objects.first().error
    server.start()
    try:
        wait_until(rows_in("sent", 4), timeout=60, message="the backlog to be sent once the server is back")
        grouped = server.by_notification()
        assert len(grouped) == 4 and all(len(copies) == 1 for copies in grouped.values())
        assert {m["Subject"] for m in server.messages} == {f"We have received your order {o.number}" for o in orders}
        assert Notification.objects.filter(error="").count() == 4
    finally:
        server.stop()


def test_a_server_that_keeps_refusing_ends_failed_and_visible_after_the_schedule(celery_workers, smtp_server, shop,
                                                                                email_endpoint, sweeper):
    Endpoint.objects.filter(pk=email_endpoint.pk).update(retry_schedule=[0, 0])
    smtp_server.default = "554 5.7.1 Rejected by policy"
    start_worker(celery_workers, smtp_server.url)
    make_order(shop)

    wait_until(rows_in("failed", 1), timeout=60, message="the notification to fail after its schedule")
    row = Notification.objects.get()
    assert row.attempts == 2 and "SMTPDataError: 554" in row.error and "Rejected by policy" in row.error
    delivery = wait_until(lambda: Delivery.objects.filter(endpoint=email_endpoint, state="dead").first(),
                          timeout=30, message="the delivery to go dead")
    assert delivery.alerts.filter(kind="delivery_dead").exists() and smtp_server.received() == 0
