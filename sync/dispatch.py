"""Nudging workers after commit. A nudge is only a hint: the outbox rows are the truth and the sweeper re-sends
whatever a lost or failed nudge left behind, so a broker outage delays deliveries but never loses them."""

import functools
import logging

from django.db import transaction

log = logging.getLogger(__name__)


def _send(delivery_id: int, kind: str, countdown: float | None) -> None:
    from sync.tasks import delivery_attempt

    options = {"countdown": countdown} if countdown else {}
    try:
        delivery_attempt.apply_async(kwargs={"delivery_id": delivery_id, "kind": kind}, **options)
    except Exception:  # broker down: the sweeper picks the delivery up once its nudge expires
        log.warning("sync: could not queue delivery %s; the sweeper will", delivery_id, exc_info=True)


def nudge_on_commit(delivery_id: int, kind: str, *, countdown: float | None = None) -> None:
    """`delay_on_commit` that never fails the caller's request: the change is committed either way."""
    transaction.on_commit(functools.partial(_send, delivery_id, kind, countdown))


def busy_queues(names: set[str]) -> set[str]:
    """Queues that still hold messages. While a queue has a backlog, a nudge older than its TTL is most likely
    still waiting in it, so the sweeper does not pile duplicates on top; once it drains, lost ones are re-sent."""
    from celery import current_app

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
