"""Customer email throughput: notifications rendered and handed to a local SMTP server per second, as a ratio to
bare `send_mail` of the same message in the same run (goal >= 0.5).

The SMTP server (aiosmtpd's Sink, which accepts and discards) runs in its own process on a free port. The
baseline opens a connection per call, as `send_mail` does; the notification side is the whole handler path for
one order event as a worker runs it: channel rules (cached), the idempotency row with the send marker, rendering
the plain-text and HTML templates in the customer's language with Babel formatting, CSS inlining, SMTP over the
thread's kept connection (notifications/mail.py), and the sent mark.
Rounds alternate between the two sides so a change in machine load hits both; each is run on one thread and on
four at once. NOTIFICATIONS_BENCH_COUNT sets messages per side per round (default 300; 3 rounds).
"""

import os
import subprocess
import sys
import threading
import time
import uuid

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection

from channels_integration.models import Channel
from channels_integration.services import channel_create
from notifications.management.commands.notification_preview import sample_payload
from notifications.models import Notification
from notifications.rendering import render_email
from notifications.services import email_for_event
from tests.harness.celery_worker import wait_until
from tests.harness.http_server import free_port

ROUNDS = 3
# One thread, as the headline; four, as a worker host with --concurrency 4 (both sides equally).
THREADS = (1, 4)


def _smtp_server() -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening() -> bool:
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, timeout=20, message=f"aiosmtpd on port {port}")
    return proc, port


def _payloads(count: int, batch: int) -> list[dict]:
    languages = ("en", "zh-CN")
    return [{**sample_payload("en"), "number": f"B{batch}-{i:06d}", "id": batch * 1_000_000 + i,
             "language": languages[i % 2], "customer": {"name": "Ada", "email": f"buyer{i}@example.com"}}
            for i in range(count)]


def _in_threads(threads: int, fn, count: int, **kwargs) -> float:
    """Runs fn(count // threads, part=i) on `threads` threads at once; returns messages per second overall."""
    per_thread = count // threads
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(part: int) -> None:
        try:
            barrier.wait()
            fn(per_thread, part=part, **kwargs)
        except BaseException as exc:  # reported after the run; a silent thread would inflate the rate
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return per_thread * threads / elapsed


def _bare_send_mail(count: int, part: int = 0) -> None:
    """The baseline: the same message, already rendered, through `send_mail` (a new connection each call)."""
    rendered = render_email(topic="order.shipped", payload=sample_payload("en"), language="en",
                            shop_name="Bench Shop", tracking_overrides={})
    for i in range(count):
        assert send_mail(rendered.subject, rendered.text, settings.DEFAULT_FROM_EMAIL, [f"buyer{i}@example.com"],
                         html_message=rendered.html) == 1


def _notifications(count: int, part: int = 0, round_no: int = 0) -> None:
    for payload in _payloads(count, round_no * 100 + part):
        result = email_for_event(event_id=uuid.uuid4(), topic="order.shipped", payload=payload, timeout=10,
                                 last_attempt=False)
        assert result.ok, result.detail


def run() -> list[dict]:
    count = int(os.environ.get("NOTIFICATIONS_BENCH_COUNT", 300))
    proc, port = _smtp_server()
    previous = settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    Notification.objects.all().delete()
    if not Channel.objects.filter(code="webshop").exists():
        channel_create(code="webshop", name="Bench Shop")
    results = []
    try:
        _bare_send_mail(20), _notifications(20, round_no=99)  # warm-up: templates, catalogues, connections
        for threads in THREADS:
            bare, notified = [], []
            for round_no in range(ROUNDS):
                bare.append(_in_threads(threads, _bare_send_mail, count))
                notified.append(_in_threads(threads, _notifications, count, round_no=round_no + 10 * threads))
            results.append(_result(threads, count, bare, notified))
    finally:
        settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = previous
        proc.terminate()
        proc.wait(timeout=10)
    unsent = Notification.objects.exclude(state="sent").count()
    assert unsent == 0, f"{unsent} notifications were not sent"
    return results


def _result(threads: int, count: int, bare: list[float], notified: list[float]) -> dict:
    baseline, value = sum(bare) / ROUNDS, sum(notified) / ROUNDS
    rounds = f"notify {', '.join(f'{r:.0f}' for r in notified)} vs send_mail {', '.join(f'{r:.0f}' for r in bare)}"
    return dict(name=f"notifications sent vs bare send_mail, {threads} thread(s)", value=value, baseline=baseline,
                unit="messages/s", ratio=value / baseline, goal=">= 0.5",
                notes=f"{ROUNDS} rounds x {count} per side; per round {rounds}; en/zh alternating")
