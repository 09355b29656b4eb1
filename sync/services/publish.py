import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from ordersync.sql import db_table
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


def _counter_bump(counts: Counter) -> tuple[str, list]:
    """The statement that bumps each stream's counter by its count and returns the new last sequence per stream.

    Its row locks are held until the caller commits, which orders concurrent publishers of a stream; streams are
    locked in key order, so two publishers of overlapping streams cannot deadlock."""
    table = db_table(StreamCounter)
    keys = sorted(counts)
    sql = (f"INSERT INTO {table} (key, last_sequence) VALUES {', '.join(['(%s, %s)'] * len(keys))} "
           f"ON CONFLICT (key) DO UPDATE SET last_sequence = {table}.last_sequence + EXCLUDED.last_sequence "
           "RETURNING key, last_sequence")
    return sql, [part for key in keys for part in (key, counts[key])]


def _insert_events(specs: Sequence[EventSpec]) -> list[Event]:
    """Bumps the stream counters and inserts the events numbered from them, in one statement (one round trip) on
    PostgreSQL. Events of one stream get consecutive sequence numbers in the order given."""
    counts = Counter(spec.stream_key for spec in specs)
    now = timezone.now()
    rows, seen = [], Counter()
    for spec in specs:
        key = spec.stream_key
        seen[key] += 1
        rows.append((Event(topic=spec.topic, order_id=spec.order_id, stream=key, payload=spec.payload,
                           created_at=now), counts[key] - seen[key]))
    bump, bump_params = _counter_bump(counts)
    if connection.vendor != "postgresql":  # `make run` on SQLite: no unnest, so counters first, then the events
        with connection.cursor() as cursor:
            cursor.execute(bump, bump_params)
            last = dict(cursor.fetchall())
        for e, from_last in rows:
            e.sequence = last[e.stream] - from_last
        return Event.objects.bulk_create([e for e, _ in rows])
    event = db_table(Event)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH seq AS ({bump}) "
            f"INSERT INTO {event} (id, topic, order_id, stream, sequence, payload, created_at) "
            "SELECT e.id, e.topic, e.order_id, e.stream, seq.last_sequence - e.from_last, e.payload, %s "
            "FROM unnest(%s::uuid[], %s::text[], %s::bigint[], %s::text[], %s::bigint[], %s::jsonb[]) "
            "AS e(id, topic, order_id, stream, from_last, payload) JOIN seq ON seq.key = e.stream "
            "RETURNING id, sequence",
            [*bump_params, now,
             [e.id for e, _ in rows], [e.topic for e, _ in rows], [e.order_id for e, _ in rows],
             [e.stream for e, _ in rows], [from_last for _, from_last in rows],
             [json.dumps(e.payload) for e, _ in rows]],
        )
        sequences = dict(cursor.fetchall())
    events = []
    for e, _ in rows:
        e.sequence = sequences[e.id]
        e._state.adding, e._state.db = False, connection.alias  # stored rows, as bulk_create leaves them
        events.append(e)
    return events


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
    created = _insert_events(events)
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
