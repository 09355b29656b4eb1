from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from sync.dispatch import drain_nudge_on_commit
from sync.models import Delivery, Endpoint, Event, StreamCounter


@dataclass(frozen=True)
class EventSpec:
    topic: str
    payload: dict
    order_id: int | None = None
    stream: str | None = None

    @property
    def stream_key(self) -> str:
        return self.stream or (f"order:{self.order_id}" if self.order_id is not None else f"topic:{self.topic}")


def _reserve_sequences(counts: dict[str, int]) -> dict[str, int]:
    """Bumps each stream's counter by its count in one statement and returns the new last sequence per stream.

    The row locks it takes are held until the caller commits, which orders concurrent publishers of a stream;
    streams are locked in key order, so two publishers of overlapping streams cannot deadlock.
    """
    table = connection.ops.quote_name(StreamCounter._meta.db_table)
    keys = sorted(counts)
    values = ", ".join(["(%s, %s)"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, last_sequence) VALUES {values} "
            f"ON CONFLICT (key) DO UPDATE SET last_sequence = {table}.last_sequence + EXCLUDED.last_sequence "
            "RETURNING key, last_sequence",
            [part for key in keys for part in (key, counts[key])],
        )
        return dict(cursor.fetchall())


def event_publish_many(*, events: Sequence[EventSpec]) -> list[Event]:
    """Records events and their deliveries inside the caller's transaction (the transactional outbox).

    Called outside a transaction it refuses: an event written apart from the change it describes could be
    delivered for a change that later rolled back. Each endpoint's drain is nudged once, after the caller commits;
    a rolled back transaction takes the events, their deliveries and the nudges with it. Events of one stream get
    consecutive sequence numbers in the order given.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("event_publish must run inside the transaction that makes the change it describes")
    if not events:
        return []
    counts = Counter(spec.stream_key for spec in events)
    last = _reserve_sequences(counts)
    next_sequence = {key: last[key] - counts[key] + 1 for key in counts}
    rows = []
    for spec in events:
        key = spec.stream_key
        rows.append(Event(topic=spec.topic, order_id=spec.order_id, stream=key, sequence=next_sequence[key],
                          payload=spec.payload))
        next_sequence[key] += 1
    created = Event.objects.bulk_create(rows)
    now = timezone.now()
    active = list(Endpoint.objects.filter(active=True))
    deliveries = Delivery.objects.bulk_create(
        Delivery(event=event, endpoint=endpoint, stream=event.stream, sequence=event.sequence, next_attempt_at=now)
        for event in created
        for endpoint in active
        if endpoint.subscribes_to(event.topic)
    )
    kinds = {e.pk: e.kind for e in active}
    for endpoint_id in sorted({delivery.endpoint_id for delivery in deliveries}):  # one drain per endpoint
        drain_nudge_on_commit(endpoint_id, kinds[endpoint_id])
    return created


def event_publish(*, topic: str, payload: dict, order_id: int | None = None, stream: str | None = None) -> Event:
    """One event; see event_publish_many."""
    return event_publish_many(events=[EventSpec(topic=topic, payload=payload, order_id=order_id, stream=stream)])[0]
