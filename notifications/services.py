"""Customer email: once per event and recipient, written down before it is sent and marked after.

The sync engine calls `email_for_event` (through the `notifications.email` handler) at least once per event;
retries, ordering, attempt logs and dead letters are the engine's. What this module adds is the promise that a
customer never gets the same notification twice:

1. the `Notification` row is created once per (event, medium, recipient) — a duplicate or retried call finds it;
2. before the message goes to the mail server, the row carries a `send_token`, a short `send_lease_until` and
   the rendered message, durably committed (on a first attempt, in the INSERT itself);
3. after the server's answer the row is marked `sent`, or the token is cleared for a retry when the server
   refused or was never reached (notifications/mail.py tells those apart from an answer lost after DATA).

A worker that dies between 2 and 3 — possibly after the server took the message — leaves the token behind. The
next attempt finds it and, once the lease is over, marks the row `unknown` instead of sending again: a customer
may have it, so only an operator decides to resend (a new row, `notification_resend`). An answer lost after
DATA (timeout, dropped connection) is the same case and is marked `unknown` at once.
"""

import uuid
from datetime import timedelta
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from notifications import mail, selectors
from notifications.events import EMAIL_ENDPOINT, EMAIL_ENDPOINT_TOPICS, EMAIL_HANDLER, EVENTS, RESEND_TOPIC
from notifications.models import Notification
from notifications.rendering import RenderedEmail, RenderError, choose_language, render_email
from sync.handlers import HandlerResult
from sync.models import Endpoint, Event
from sync.services import endpoint_create, event_publish

State = Notification.State
FINISHED = (State.SENT, State.SUPPRESSED, State.UNKNOWN)
UNKNOWN_REASON = ("an earlier attempt handed the message to the mail server and stopped before recording the "
                  "answer; the customer may have it. Not sent again automatically: resend it if they did not.")


def notification_endpoint_ensure() -> Endpoint:
    """The sync endpoint whose handler sends customer email; created once, left as an operator tuned it."""
    endpoint = Endpoint.objects.filter(name=EMAIL_ENDPOINT).first()
    if endpoint is None:
        endpoint = endpoint_create(name=EMAIL_ENDPOINT, kind=Endpoint.Kind.NOTIFICATION, handler=EMAIL_HANDLER,
                                   topics=EMAIL_ENDPOINT_TOPICS).endpoint
    return endpoint


def _recipient_problem(recipient: str) -> str:
    if not recipient:
        return "the order has no email address"
    try:
        validate_email(recipient)
    except ValidationError:
        return f"invalid email address {recipient!r}"
    return ""


def _rule_problem(*, topic: str, channel_code: str, channel, rules) -> str:
    if channel is None:
        return f"channel {channel_code!r} does not exist"
    if rules.channel_notifies_customers:
        return f"channel {channel_code} emails its customers itself"
    if topic not in rules.events:
        return f"{topic} emails are turned off for channel {channel_code}"
    return ""


def email_for_event(*, event_id, topic: str, payload: dict, timeout: float, last_attempt: bool) -> HandlerResult:
    """Sends the customer's email for one order event, or records why not. Idempotent per event."""
    if topic not in EVENTS:
        return HandlerResult(ok=True, detail=f"{topic} does not notify customers")
    channel, rules = selectors.channel_settings(code=payload["channel"])
    recipient = ((payload.get("customer") or {}).get("email") or "").strip()
    problem = (_rule_problem(topic=topic, channel_code=payload["channel"], channel=channel, rules=rules)
               or _recipient_problem(recipient))
    key = {"event_id": event_id, "medium": Notification.Medium.EMAIL, "recipient": recipient, "resend_of": None}
    fields = {"order_id": payload["id"], "order_number": payload["number"], "channel_code": payload["channel"],
              "topic": topic, "language": choose_language(order_language=payload.get("language"),
                                                          channel_language=rules.default_language if rules else None)}
    if problem:
        row, _ = Notification.objects.get_or_create(**key, defaults={**fields, "state": State.SUPPRESSED,
                                                                     "error": problem})
        return _deliver(row, payload=payload, channel=channel, rules=rules, timeout=timeout, last_attempt=last_attempt)
    # The common case, a first attempt: one INSERT writes the row with its send marker and the rendered message.
    row = Notification(**key, **fields)
    try:
        rendered = _render(row, payload=payload, channel=channel, rules=rules)
    except RenderError as exc:
        row, created = Notification.objects.get_or_create(**key, defaults={**fields, "state": State.FAILED})
        if not created:  # e.g. sent before the template broke: its state decides
            return _deliver(row, payload=payload, channel=channel, rules=rules, timeout=timeout,
                            last_attempt=last_attempt)
        return _fail(row, str(exc), permanent=True)
    claim = _Claim(rendered=rendered, timeout=timeout)
    try:
        with transaction.atomic():
            claim.apply(row, attempts=1).save(force_insert=True)
    except IntegrityError:  # a retry or a duplicate: the existing row says what happened
        row = Notification.objects.get(**key)
        return _deliver(row, payload=payload, channel=channel, rules=rules, timeout=timeout, last_attempt=last_attempt)
    return _send_claimed(row, claim, channel=channel, rules=rules, last_attempt=last_attempt)


def email_resend_deliver(*, notification_id: int, payload: dict, timeout: float, last_attempt: bool) -> HandlerResult:
    """Sends a resend row created by `notification_resend`; rules do not apply (an operator asked for it)."""
    row = Notification.objects.filter(pk=notification_id).first()
    if row is None:
        return HandlerResult(ok=True, detail=f"notification {notification_id} no longer exists")
    problem = _recipient_problem(row.recipient)
    if problem and row.state == State.QUEUED:
        Notification.objects.filter(pk=row.pk, state=State.QUEUED).update(state=State.SUPPRESSED, error=problem)
        return HandlerResult(ok=True, detail=f"suppressed: {problem}")
    channel, rules = selectors.channel_settings(code=row.channel_code)
    return _deliver(row, payload=payload, channel=channel, rules=rules, timeout=timeout, last_attempt=last_attempt)


def _render(row: Notification, *, payload: dict, channel, rules) -> RenderedEmail:
    if channel is None:
        raise RenderError(f"channel {row.channel_code!r} does not exist")
    return render_email(topic=row.topic, payload=payload, language=row.language,
                        shop_name=rules.sender_name or channel.name, tracking_overrides=rules.tracking_urls)


class _Claim:
    """The send marker and the message it stands for, written before the message goes to the server."""

    def __init__(self, *, rendered: RenderedEmail, timeout: float, message_id: str = ""):
        self.rendered, self.timeout = rendered, timeout
        self.token = uuid.uuid4()
        self.message_id = message_id or make_msgid("notification", domain=settings.DEFAULT_FROM_EMAIL.rsplit("@")[-1])
        self.fields = {
            "state": State.QUEUED, "send_token": self.token,
            "send_lease_until": timezone.now() + timedelta(seconds=timeout), "subject": rendered.subject[:255],
            "body_text": rendered.text, "body_html": rendered.html, "provider_message_id": self.message_id,
            "error": "",
        }

    def apply(self, row: Notification, **more) -> Notification:
        for name, value in {**self.fields, **more}.items():
            setattr(row, name, value)
        return row


def _message(row: Notification, claim: _Claim, *, channel, rules) -> EmailMultiAlternatives:
    sender = formataddr((rules.sender_name or channel.name, settings.DEFAULT_FROM_EMAIL))
    message = EmailMultiAlternatives(
        subject=claim.rendered.subject, body=claim.rendered.text, from_email=sender, to=[row.recipient],
        reply_to=[rules.reply_to] if rules.reply_to else None,
        headers={"Message-ID": claim.message_id, "Auto-Submitted": "auto-generated",
                 "Content-Language": row.language, "X-OrderSync-Notification": str(row.pk)},
    )
    message.attach_alternative(claim.rendered.html, "text/html")
    return message


def _deliver(row: Notification, *, payload: dict, channel, rules, timeout: float, last_attempt: bool) -> HandlerResult:
    """An existing row: a retry, a duplicate, or a resend."""
    now = timezone.now()
    if row.state in FINISHED:
        return HandlerResult(ok=True, detail=f"notification {row.pk} already {row.state}: {row.error or row.recipient}")
    if row.send_token is not None:
        if row.send_lease_until > now:
            wait = (row.send_lease_until - now).total_seconds()
            return HandlerResult(ok=False, detail=f"notification {row.pk} is being sent by another worker",
                                 retry_after=wait)
        Notification.objects.filter(pk=row.pk, send_token=row.send_token, state=State.QUEUED).update(
            state=State.UNKNOWN, error=UNKNOWN_REASON)
        return HandlerResult(ok=True, detail=f"notification {row.pk}: outcome unknown, not sent again")
    try:
        rendered = _render(row, payload=payload, channel=channel, rules=rules)
    except RenderError as exc:
        return _fail(row, str(exc), permanent=True)
    claim = _Claim(rendered=rendered, timeout=timeout, message_id=row.provider_message_id)
    claimed = Notification.objects.filter(pk=row.pk, send_token=None, state__in=(State.QUEUED, State.FAILED)).update(
        **claim.fields, attempts=F("attempts") + 1)
    if not claimed:  # another worker got here first; its outcome decides
        return HandlerResult(ok=False, detail=f"notification {row.pk} changed meanwhile", retry_after=timeout)
    return _send_claimed(row, claim, channel=channel, rules=rules, last_attempt=last_attempt)


def _send_claimed(row: Notification, claim: _Claim, *, channel, rules, last_attempt: bool) -> HandlerResult:
    sent = mail.send(_message(row, claim, channel=channel, rules=rules), timeout=claim.timeout)
    mine = Notification.objects.filter(pk=row.pk, send_token=claim.token)
    if sent.ambiguous:
        mine.update(state=State.UNKNOWN, send_token=None, send_lease_until=None,
                    error=f"{sent.error}: the mail server may have taken it; not sent again automatically")
        return HandlerResult(ok=True, detail=f"notification {row.pk}: outcome unknown ({sent.error})")
    if sent.error:
        # A slow attempt whose row a retry already marked unknown knows better now: it failed.
        gave_up = State.FAILED if last_attempt else State.QUEUED
        mine.update(send_token=None, send_lease_until=None, error=sent.error,
                    state=Case(When(state=State.UNKNOWN, then=Value(State.FAILED)), default=Value(gave_up)))
        return HandlerResult(ok=False, detail=f"mail server: {sent.error}")
    with transaction.atomic():
        _without_flush_wait()
        mine.update(state=State.SENT, sent_at=timezone.now(), send_token=None, send_lease_until=None, error="")
    return HandlerResult(ok=True, detail=f"sent to {row.recipient} as {claim.message_id}")


def _without_flush_wait() -> None:
    """For the `sent` mark only: if a database crash loses it, the send marker (committed durably before the
    message went out) is still there and the retry records `unknown`; it never causes a second email."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _fail(row: Notification, error: str, *, permanent: bool) -> HandlerResult:
    Notification.objects.filter(pk=row.pk, send_token=None, state__in=(State.QUEUED, State.FAILED)).update(
        state=State.FAILED, error=error)
    return HandlerResult(ok=False, detail=error, permanent=permanent)


def notification_resend(*, notification_id: int, requested_by: str) -> Notification:
    """Records a new row for the same event and recipient and sends it through the outbox (retried, logged)."""
    notification_endpoint_ensure()  # a resend needs a subscriber, even on a fresh install
    with transaction.atomic():
        original = Notification.objects.select_for_update().get(pk=notification_id)
        if original.state == State.QUEUED:
            raise ValidationError(f"notification {original.pk} is still being sent; wait for its outcome")
        event = Event.objects.filter(pk=original.event_id).only("payload").first()
        if event is None:
            raise ValidationError(f"the event of notification {original.pk} no longer exists; nothing to re-render")
        row = Notification.objects.create(
            order_id=original.order_id, order_number=original.order_number, channel_code=original.channel_code,
            event_id=original.event_id, topic=original.topic, medium=original.medium, recipient=original.recipient,
            language=original.language, resend_of=original, requested_by=requested_by,
        )
        event_publish(topic=RESEND_TOPIC, payload={"notification_id": row.pk, "event": event.payload},
                      order_id=row.order_id, stream=f"notification:{row.pk}")
    return row
