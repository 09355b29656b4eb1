"""Waking drains. A nudge is only a hint: the outbox rows are the truth and the sweeper re-sends whatever a lost or
failed nudge left behind, so a broker outage delays deliveries but never loses them.

Nudges coalesce per endpoint: a DrainNudge row says "a drain of this endpoint is queued for due_at", and a nudge
that finds one queued for the same time or sooner sends nothing. So a burst of 1,000 orders queues one drain per
endpoint, not 1,000 messages. The drain deletes the row as it starts, so whatever is committed after that point
either is claimed by that drain or queues the next one: no wake-up is lost. Tasks are sent by name; services never
import the tasks module.
"""

import functools
import logging
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ordersync.sql import db_table
from sync.models import DrainNudge
from sync.routing import DRAIN_TASK

log = logging.getLogger(__name__)


def _claim_nudge(endpoint_id: int, due: datetime, now: datetime) -> bool:
    """True when this caller must send the drain: none was queued, a later one was, or the queued one is lost."""
    table = db_table(DrainNudge)
    adapt = connection.ops.adapt_datetimefield_value
    expires = due + timedelta(seconds=settings.SYNC_NUDGE_TTL)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (endpoint_id, due_at, expires_at) VALUES (%s, %s, %s) "
            f"ON CONFLICT (endpoint_id) DO UPDATE SET due_at = EXCLUDED.due_at, expires_at = EXCLUDED.expires_at "
            f"WHERE {table}.due_at > EXCLUDED.due_at OR {table}.expires_at <= %s RETURNING endpoint_id",
            [endpoint_id, adapt(due), adapt(expires), adapt(now)],
        )
        return cursor.fetchone() is not None


def drain_nudge(*, endpoint_id: int, kind: str, at: datetime | None = None) -> bool:
    """Queues a drain of the endpoint for `at` (now by default) unless one is already queued for then or sooner.
    Returns whether a message was sent. Never raises for a broker outage: the sweeper re-sends once it expires."""
    now = timezone.now()
    due = max(at or now, now)
    if not _claim_nudge(endpoint_id, due, now):
        return False
    countdown = (due - now).total_seconds()
    try:
        current_app.send_task(DRAIN_TASK, kwargs={"endpoint_id": endpoint_id, "kind": kind},
                              countdown=countdown if countdown > 0 else None)
    except Exception:  # broker down: forget the nudge so the next one (or the sweeper) tries again
        DrainNudge.objects.filter(endpoint_id=endpoint_id, due_at=due).delete()
        log.warning("sync: could not queue a drain of endpoint %s; the sweeper will", endpoint_id, exc_info=True)
        return False
    return True


def drain_nudge_on_commit(endpoint_id: int, kind: str, *, at: datetime | None = None) -> None:
    """`delay_on_commit` that never fails the caller's request: the change is committed either way."""
    transaction.on_commit(functools.partial(_nudge_quietly, endpoint_id, kind, at))


def _nudge_quietly(endpoint_id: int, kind: str, at: datetime | None) -> None:
    try:
        drain_nudge(endpoint_id=endpoint_id, kind=kind, at=at)
    except Exception:  # the database went away after the commit; the sweeper finds the due deliveries
        log.warning("sync: could not nudge endpoint %s; the sweeper will", endpoint_id, exc_info=True)


def drain_started(endpoint_id: int) -> None:
    """The queued drain is running: from now on a nudge queues the next one."""
    DrainNudge.objects.filter(endpoint_id=endpoint_id, due_at__lte=timezone.now()).delete()


def busy_queues(names: set[str]) -> set[str]:
    """Queues that still hold messages. While a queue has a backlog, a nudge older than its TTL is most likely
    still waiting in it, so the sweeper does not pile duplicates on top; once it drains, lost ones are re-sent."""
    busy = set()
    try:
        with current_app.connection_for_write() as conn:
            channel = conn.default_channel
            for name in names:
                try:
                    if channel.queue_declare(queue=name, passive=True).message_count:
                        busy.add(name)
                except Exception:  # the transport reports a missing (drained) queue as an error
                    continue
    except Exception:  # broker unreachable: nothing can be queued anyway; the next sweep decides
        log.warning("sync: broker unreachable while sweeping", exc_info=True)
    return busy
