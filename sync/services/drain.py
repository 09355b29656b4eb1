"""Draining one endpoint: claim a batch, send it concurrently, record it, and go on while work is due.

Sends run on this process's pool of SYNC_SEND_THREADS threads over the endpoint's kept-alive client. The drain
waits for a batch at most SYNC_DRAIN_PATIENCE seconds; a send still running then (a carrier answering in 5 s)
finishes on its own thread and records itself (the last one out nudges the endpoint if its drain has stopped),
while the drain moves on or hands the worker back. A slow endpoint thus holds its own concurrency slots, never the
worker.
After SYNC_DRAIN_MAX_SECONDS a drain queues itself again behind the other endpoints of its queue.
"""

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections
from django.utils import timezone
from structlog.contextvars import bound_contextvars

from sync.dispatch import drain_nudge, drain_started
from sync.send import Claim, Outcome, send
from sync.services.delivery import AT_LIMIT, RATE_LEAD, Batch, Declined, deliveries_claim, deliveries_record

log = logging.getLogger(__name__)


def _send_on_thread(claim: Claim) -> Outcome:
    started = timezone.now()
    # A send thread starts with an empty log context: every line it logs names the delivery it is about.
    with bound_contextvars(delivery_id=claim.delivery.pk, endpoint=claim.endpoint.name,
                           event_id=claim.event.pk, order_id=claim.event.order_id, attempt=claim.attempt):
        try:
            outcome = send(claim)
        except Exception as exc:  # a bug in building the request is a failed attempt, not a lost batch
            log.exception("sync: sending delivery %s failed", claim.delivery.pk)
            return Outcome(started_at=started, duration_ms=0, error=f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()  # a handler may have used the ORM on this thread
        log.log(logging.DEBUG if outcome.ok else logging.WARNING, "sync: delivery %s attempt %s: %s in %s ms",
                claim.delivery.pk, claim.attempt, outcome.status_code or outcome.error or "done", outcome.duration_ms,
                extra={"status_code": outcome.status_code, "duration_ms": outcome.duration_ms})
        return outcome


class _Sender:
    """This process's send threads and how many of them are free."""

    def __init__(self, threads: int):
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sync-send")
        self._threads = threads
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def free(self) -> int:
        with self._lock:
            return self._threads - self._busy

    def submit(self, claim: Claim) -> Future:
        with self._lock:
            self._busy += 1
        future = self._pool.submit(_send_on_thread, claim)
        future.add_done_callback(self._release)
        return future

    def _release(self, _future: Future) -> None:
        with self._lock:
            self._busy -= 1

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


_sender: _Sender | None = None
_sender_lock = threading.Lock()


def sender() -> _Sender:
    """Created on first use, so a prefork worker child owns its threads (they do not survive a fork)."""
    global _sender
    with _sender_lock:
        if _sender is None:
            _sender = _Sender(settings.SYNC_SEND_THREADS)
        return _sender


def sender_shutdown() -> None:
    """Warm worker shutdown: let the sends in flight finish and record before the process exits."""
    global _sender
    with _sender_lock:
        current, _sender = _sender, None
    if current is not None:
        current.shutdown()


class _Run:
    """One drain's bookkeeping of the sends it left behind (they record themselves): the drain can wait for them
    when they hold the endpoint's concurrency, and a late send nudges the endpoint only when no drain of this run
    will claim again (a second drain would just compete for the same slots)."""

    def __init__(self):
        self._changed = threading.Condition()
        self._out = 0
        self._finished = False
        self._recorded_since_claim = False

    @property
    def out(self) -> int:
        with self._changed:
            return self._out

    def left_behind(self, count: int) -> None:
        with self._changed:
            self._out += count

    def claiming(self) -> None:
        with self._changed:
            self._recorded_since_claim = False

    def late_recorded(self) -> bool:
        """True when the caller must nudge: the drain has stopped and this was the last send it left behind (one
        nudge for all of them)."""
        with self._changed:
            self._out -= 1
            self._recorded_since_claim = True
            self._changed.notify_all()
            return self._finished and self._out == 0

    def wait_for_one(self, timeout: float) -> bool:
        """Waits until one of the sends left behind has been recorded since the last claim; False when none is out
        or none came in time."""
        with self._changed:
            before = self._out
            return self._recorded_since_claim or (
                before > 0 and self._changed.wait_for(lambda: self._out < before, timeout))

    def finish(self) -> bool:
        """True when the drain must nudge: a late send was recorded after its last claim looked and none is out
        (otherwise the last one out nudges)."""
        with self._changed:
            self._finished = True
            return self._recorded_since_claim and self._out == 0


def _record_late(run: _Run, batch: Batch, claim: Claim, future: Future) -> None:
    try:
        deliveries_record(batch=batch, results=[(claim, future.result())])
    except Exception:  # its lease expires and the sweeper takes it back: at-least-once holds
        log.exception("sync: could not record delivery %s after a slow send", claim.delivery.pk)
    finally:
        must_nudge = run.late_recorded()
    try:
        if must_nudge:
            drain_nudge(endpoint_id=batch.endpoint.pk, kind=batch.endpoint.kind)
    finally:
        connections.close_all()


def _send_batch(run: _Run, batch: Batch) -> tuple[list[tuple[Claim, Outcome]], int, bool]:
    """Sends the batch concurrently; returns the results in, how many sends are still out (those record themselves
    when they finish) and whether the drain waited its full patience for them.

    A rate-limited batch is left RATE_LEAD before its last slot: the drain records what is done and claims the next
    batch while the last sends go out, so the endpoint's slots follow one another without a gap."""
    futures = {sender().submit(claim): claim for claim in batch.claims}
    last_slot = max((c.send_at for c in batch.claims if c.send_at), default=None)
    until_last = 0.0 if last_slot is None else (last_slot - timezone.now()).total_seconds()
    patient = until_last <= RATE_LEAD
    done, pending = wait(futures, timeout=max(until_last, 0.0) + settings.SYNC_DRAIN_PATIENCE if patient
                         else until_last - RATE_LEAD)
    run.left_behind(len(pending))
    for future in pending:
        future.add_done_callback(lambda f, claim=futures[future]: _record_late(run, batch, claim, f))
    return [(futures[f], f.result()) for f in done], len(pending), patient


def _book(endpoint_id: int, kind: str, wake_at: datetime | None) -> None:
    """Queues the next drain with a countdown when it is near; later wake-ups are the sweeper's (they must not sit
    in the broker as long countdowns)."""
    if wake_at is not None and (wake_at - timezone.now()).total_seconds() <= settings.SYNC_MAX_COUNTDOWN:
        drain_nudge(endpoint_id=endpoint_id, kind=kind, at=wake_at)


def endpoint_drain(*, endpoint_id: int, kind: str) -> str:
    """Delivers the endpoint's due deliveries batch by batch until none may go; returns a one-line summary."""
    drain_started(endpoint_id)
    started = time.monotonic()
    sent = 0
    run = _Run()
    while True:
        limit = min(settings.SYNC_BATCH_SIZE, sender().free)
        if limit <= 0:
            # Slow sends (of any endpoint) hold every thread of this process: look again after a patience.
            reason = "send threads busy"
            _book(endpoint_id, kind, timezone.now() + timedelta(seconds=settings.SYNC_DRAIN_PATIENCE))
            break
        run.claiming()
        batch = deliveries_claim(endpoint_id=endpoint_id, limit=limit, own_in_flight=run.out)
        if isinstance(batch, Declined):
            if batch.reason == AT_LIMIT and run.wait_for_one(settings.SYNC_DRAIN_PATIENCE):
                continue  # this drain's own sends held the slots; one of them just finished
            reason = batch.reason
            _book(endpoint_id, kind, batch.wake_at)
            break
        results, still_out, patient = _send_batch(run, batch)
        if results:
            deliveries_record(batch=batch, results=results)
        sent += len(batch.claims)
        if not results and patient:
            reason = f"slow endpoint ({still_out} sends still out)"
            break
        if time.monotonic() - started >= settings.SYNC_DRAIN_MAX_SECONDS:
            reason = "time slice used"
            _book(endpoint_id, kind, timezone.now())
            break
    if run.finish():
        drain_nudge(endpoint_id=endpoint_id, kind=kind)
    return f"sent {sent}; stopped: {reason}"
