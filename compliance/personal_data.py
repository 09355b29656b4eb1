"""A customer's personal data, found by email: exported as JSON, or erased (anonymised in place).

PERSONAL_FIELDS is the one declaration of where personal data lives; NOT_PERSONAL names the fields that look
personal but are not a customer's. tests/compliance/test_registry.py fails for any installed model field named
like personal data (or a JSON/binary payload) that is in neither."""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, TextField
from django.db.models.functions import Cast
from django.forms.models import model_to_dict
from django.utils import timezone

from channels_integration.models import InboundMessage
from compliance.models import Erasure
from notifications.models import Notification
from orders.fsm import Status
from orders.models import IdempotencyRecord, Order
from sync.models import Event

ERASED = "erased"
DONE = {Status.DELIVERED, Status.CANCELLED, Status.REFUNDED, Status.RETURNED}

PERSONAL_FIELDS = {
    "orders.Order": ("customer_name", "customer_email", "customer_phone", "shipping_address", "billing_address"),
    "orders.IdempotencyRecord": ("response_body",),
    "channels_integration.InboundMessage": ("headers", "body"),
    "notifications.Notification": ("recipient", "subject", "body_text", "body_html"),
    "sync.Event": ("payload",),
}
NOT_PERSONAL = {
    "auth.User": "staff accounts, not customers",
    "axes": "operators' failed admin logins (username, address) kept by django-axes for lockouts, not customers",
    "auth.Permission": "permission names", "auth.Group": "group names",
    "sync.Endpoint": "downstream system settings", "sync.Attempt": "a receiver's answer excerpt",
    "inventory.Sku": "product names", "inventory.Warehouse": "warehouse names", "inventory.SkuChange": "catalog audit",
    "orders.Order.body_hash": "a hash of the body", "orders.OrderLine": "product names",
    "orders.OrderStatusChange": "status history: kept free of personal data (reasons and payloads name rules, SKUs)",
    "compliance": "rules, holds (SKUs, fields, countries) and erasure records (an email hash)",
    "channels_integration.Channel": "shop names", "channels_integration.ApiKey": "key names",
    "notifications.ChannelNotificationSettings": "the shop's sender settings",
    "analytics.Promotion": "promotion names",
}


def _orders(email: str):
    return Order.objects.filter(customer_email__iexact=email).order_by("id")


def _related(email: str, order_ids: list[int]) -> dict:
    """The rows about these orders, and (given an email) those addressed to it or echoing it."""
    by_email = Q(recipient__iexact=email) if email else Q(pk__in=[])
    replies = Q(response_body__id__in=order_ids)
    if email:
        replies |= Q(text__icontains=json.dumps(email)[1:-1])
    return {
        "inbound_messages": InboundMessage.objects.filter(order_id__in=order_ids).order_by("id"),
        "notifications": Notification.objects.filter(Q(order_id__in=order_ids) | by_email).order_by("id"),
        "events": Event.objects.filter(order_id__in=order_ids).order_by("created_at"),
        "idempotency_records": IdempotencyRecord.objects.annotate(text=Cast("response_body", TextField()))
        .filter(replies).order_by("id"),
    }


def _row(obj) -> dict:
    data = model_to_dict(obj)
    data["id"] = obj.pk
    if isinstance(obj, InboundMessage):
        data["body"] = bytes(obj.body).decode("utf-8", "replace")
    return data


def customer_export(*, email: str, progress=lambda it, **kw: it) -> dict | None:
    """Everything held about the customer, JSON-ready; None when nothing is."""
    email = email.strip()
    if not email:
        return None
    orders = list(_orders(email).prefetch_related("lines", "status_changes"))
    related = _related(email, [o.pk for o in orders])
    if not orders and not any(qs.exists() for qs in related.values()):
        return None
    out = {"email": email, "orders": []}
    for order in progress(orders, desc="orders", unit="order"):
        row = _row(order)
        row["lines"] = [_row(line) for line in order.lines.all()]
        row["status_history"] = [_row(change) for change in order.status_changes.all()]
        out["orders"].append(row)
    for name, qs in related.items():
        out[name] = [_row(obj) for obj in progress(qs.iterator(), desc=name, unit="row")]
    return out


def _scrub_snapshot(payload: dict) -> dict:
    if isinstance(payload.get("customer"), dict):
        payload["customer"] = {key: "" for key in payload["customer"]}
    for key in ("shipping_address", "billing_address"):
        if key in payload:
            payload[key] = {}
    return payload


class ErasureRefused(Exception):
    pass


def customer_erase(*, email: str, actor: str, force: bool = False, progress=lambda it, **kw: it) -> Erasure | None:
    """Anonymises the customer's personal fields everywhere PERSONAL_FIELDS names; amounts, SKUs and status
    history stay. Refuses (nothing written) while an order is not finished unless `force`. None: nothing found."""
    email = email.strip()
    if not email:
        return None
    with transaction.atomic():
        orders = list(_orders(email).select_for_update())
        related = _related(email, [o.pk for o in orders])
        if not orders and not any(qs.exists() for qs in related.values()):
            return None
        open_orders = [o.number for o in orders if o.status not in DONE]
        if open_orders and not force:
            raise ErasureRefused(f"{len(open_orders)} order(s) not yet delivered or cancelled: "
                                 f"{', '.join(open_orders[:10])}; pass --force to erase anyway.")
        return _erase(email=email, actor=actor, force=force, orders=orders, related=related, progress=progress)


def order_anonymise(order: Order) -> None:
    order.customer_name, order.customer_email, order.customer_phone = ERASED, "", ""
    order.shipping_address, order.billing_address = {}, {}
    order.save(update_fields=[*PERSONAL_FIELDS["orders.Order"], "updated_at"])


def _erase(*, email, actor, force, orders, related, progress) -> Erasure:
    counts = {"orders": 0}
    for order in progress(orders, desc="orders", unit="order"):
        order_anonymise(order)
        counts["orders"] += 1
    counts["inbound_messages"] = related["inbound_messages"].update(body=b"{}", headers={})
    counts["notifications"] = related["notifications"].update(recipient="", subject="", body_text="", body_html="")
    counts["events"] = 0
    for event in progress(related["events"].iterator(), desc="events", unit="event"):
        Event.objects.filter(pk=event.pk).update(payload=_scrub_snapshot(event.payload))
        counts["events"] += 1
    # Stored replay answers of the API; without them a replay is answered from the (anonymised) order itself.
    counts["idempotency_records"] = IdempotencyRecord.objects.filter(
        pk__in=list(related["idempotency_records"].values_list("pk", flat=True))).delete()[0]
    digest = hashlib.sha256(email.lower().encode()).hexdigest() if email else ""
    return Erasure.objects.create(email_sha256=digest,
                                  actor=actor, forced=force, counts=counts, order_ids=[o.pk for o in orders])


def orders_retention_due(*, now, days: int, limit: int = 500) -> list[int]:
    """Finished orders not yet anonymised whose last status change is more than `days` old."""
    cutoff = now - timedelta(days=days)
    return list(Order.objects.filter(status__in=DONE).exclude(customer_name=ERASED)
                .annotate(done_at=Max("status_changes__created_at")).filter(done_at__lt=cutoff)
                .order_by("id").values_list("id", flat=True)[:limit])


def orders_anonymise_retained(*, now=None, days: int | None = None) -> Erasure | None:
    """The retention sweep: anonymises finished orders older than ORDER_RETENTION_DAYS (0: never), with their
    inbound messages, notifications, event payloads and replay answers; one Erasure row per run."""
    days = settings.ORDER_RETENTION_DAYS if days is None else days
    if days <= 0:
        return None
    with transaction.atomic():
        ids = orders_retention_due(now=now or timezone.now(), days=days)
        orders = list(Order.objects.filter(pk__in=ids).order_by("id").select_for_update(skip_locked=True))
        if not orders:
            return None
        return _erase(email="", actor="system:retention", force=False, orders=orders,
                      related=_related("", [o.pk for o in orders]), progress=lambda it, **kw: it)
