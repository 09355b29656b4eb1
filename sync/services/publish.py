from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from sync.dispatch import nudge_on_commit
from sync.models import Delivery, Endpoint, Event, StreamCounter


def _next_sequence(stream: str) -> int:
    """Atomically bump the stream's counter; the row lock it takes is held until the caller commits."""
    table = connection.ops.quote_name(StreamCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, last_sequence) VALUES (%s, 1) "
            f"ON CONFLICT (key) DO UPDATE SET last_sequence = {table}.last_sequence + 1 "
            "RETURNING last_sequence",
            [stream],
        )
        return cursor.fetchone()[0]


def event_publish(*, topic: str, payload: dict, order_id: int | None = None, stream: str | None = None) -> Event:
    """Record an event and its deliveries inside the caller's transaction (the transactional outbox).

    Called outside a transaction it refuses: an event written apart from the change it describes could be
    delivered for a change that later rolled back. Workers are nudged only once the caller commits; a rolled
    back transaction takes the event, its deliveries and the nudges with it.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("event_publish must run inside the transaction that makes the change it describes")
    stream = stream or (f"order:{order_id}" if order_id is not None else f"topic:{topic}")
    event = Event.objects.create(
        topic=topic, order_id=order_id, stream=stream, sequence=_next_sequence(stream), payload=payload
    )
    now = timezone.now()
    endpoints = [e for e in Endpoint.objects.filter(active=True) if e.subscribes_to(topic)]
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            event=event, endpoint=endpoint, stream=stream, sequence=event.sequence, next_attempt_at=now,
            nudge_expires_at=now + timedelta(seconds=settings.SYNC_NUDGE_TTL),
        )
        for endpoint in endpoints
    )
    kinds = {e.pk: e.kind for e in endpoints}
    for delivery in deliveries:
        nudge_on_commit(delivery.pk, kinds[delivery.endpoint_id])
    return event
