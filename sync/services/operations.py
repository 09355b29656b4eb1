"""Sweeping, replay, cancel and retention: what beat and operators do to the outbox."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from sync.dispatch import busy_queues, drain_nudge, drain_nudge_on_commit
from sync.models import Attempt, Delivery, DrainNudge, Endpoint, OperatorAlert
from sync.services.delivery import _locked, _ms, earlier_open_deliveries

REPLAYABLE = (Delivery.State.DEAD, Delivery.State.CANCELLED, Delivery.State.PENDING, Delivery.State.SUCCEEDED)
CANCELLABLE = (Delivery.State.PENDING, Delivery.State.DEAD)


def _leases_take_back(now: datetime, limit: int) -> int:
    """In-flight deliveries whose lease expired (their worker died or hung) go back to pending, due now, with the
    lost attempt on record. SKIP LOCKED: a row a worker is recording right now is left to it."""
    with transaction.atomic():
        stuck = list(
            _locked(Delivery.objects.filter(state=Delivery.State.IN_FLIGHT, lease_expires_at__lte=now))
            .values_list("pk", "leased_at")[:limit]
        )
        if not stuck:
            return 0
        Attempt.objects.bulk_create(
            Attempt(delivery_id=pk, started_at=leased_at or now, duration_ms=_ms(now, leased_at or now),
                    error="worker lost: lease expired before a result was recorded")
            for pk, leased_at in stuck
        )
        Delivery.objects.filter(pk__in=[pk for pk, _ in stuck]).update(
            state=Delivery.State.PENDING, next_attempt_at=now, lease_token=None, lease_expires_at=None,
            last_error="worker lost",
        )
    return len(stuck)


def deliveries_sweep(*, limit: int | None = None) -> int:
    """Takes back expired leases, then queues a drain for every endpoint with a due delivery at the head of its
    stream that no queued or running drain covers; returns how many drains it queued.

    A drain whose nudge expired is re-sent only when its queue is empty (see busy_queues): a backlog must not be
    multiplied by duplicates. Several beat instances (or a slow one overlapping itself) never queue the same
    drain twice: the nudge row decides (sync.dispatch).
    """
    now = timezone.now()
    _leases_take_back(now, limit or settings.SYNC_SWEEP_BATCH)
    idle = set(Endpoint.Kind.values) - busy_queues(set(Endpoint.Kind.values))
    due = Delivery.objects.filter(
        endpoint=OuterRef("pk"), state=Delivery.State.PENDING, next_attempt_at__lte=now
    ).exclude(Exists(earlier_open_deliveries()))
    queued = DrainNudge.objects.filter(endpoint=OuterRef("pk")).filter(
        Q(expires_at__gt=now) | ~Q(endpoint__kind__in=idle)
    )
    # Live leases mean a drain is at work: it claims again after recording, and a slow send nudges when it ends.
    working = Delivery.objects.filter(endpoint=OuterRef("pk"), state=Delivery.State.IN_FLIGHT,
                                      lease_expires_at__gt=now)
    endpoints = (
        Endpoint.objects.filter(Q(active=True), Q(paused_until__isnull=True) | Q(paused_until__lte=now))
        .filter(Exists(due)).exclude(Exists(queued)).exclude(Exists(working)).values_list("pk", "kind")
    )
    return sum(drain_nudge(endpoint_id=pk, kind=kind) for pk, kind in endpoints)


def deliveries_replay(*, delivery_ids: Iterable[int]) -> int:
    """Puts deliveries back in the queue with a fresh schedule; resolves their alerts. Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        deliveries = list(
            Delivery.objects.select_for_update().filter(pk__in=list(delivery_ids), state__in=REPLAYABLE)
            .select_related("endpoint").order_by("pk")
        )
        for delivery in deliveries:
            delivery.state = Delivery.State.PENDING
            delivery.attempts = 0
            delivery.next_attempt_at = now
            delivery.delivered_at = None
        Delivery.objects.bulk_update(deliveries, ["state", "attempts", "next_attempt_at", "delivered_at"])
        OperatorAlert.objects.filter(delivery__in=deliveries, resolved_at=None).update(resolved_at=now)
        _nudge_endpoints(deliveries)
    return len(deliveries)


def deliveries_cancel(*, delivery_ids: Iterable[int], reason: str = "cancelled by an operator") -> int:
    """Skips deliveries for good; the stream's next event may go. Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        deliveries = list(
            Delivery.objects.select_for_update().filter(pk__in=list(delivery_ids), state__in=CANCELLABLE)
            .select_related("endpoint").order_by("pk")
        )
        for delivery in deliveries:
            delivery.state = Delivery.State.CANCELLED
            delivery.last_error = reason
        Delivery.objects.bulk_update(deliveries, ["state", "last_error"])
        OperatorAlert.objects.filter(delivery__in=deliveries, resolved_at=None).update(resolved_at=now)
        _nudge_endpoints(deliveries)
    return len(deliveries)


def _nudge_endpoints(deliveries: list[Delivery]) -> None:
    for endpoint in {delivery.endpoint_id: delivery.endpoint for delivery in deliveries}.values():
        drain_nudge_on_commit(endpoint.pk, endpoint.kind)


def alerts_resolve(*, alert_ids: Iterable[int]) -> int:
    with transaction.atomic():
        return OperatorAlert.objects.filter(pk__in=list(alert_ids), resolved_at=None).update(
            resolved_at=timezone.now()
        )


def attempts_prune(*, older_than_days: int | None = None) -> int:
    """Drops the attempt log of deliveries that succeeded long ago; dead ones keep theirs until resolved."""
    days = settings.SYNC_ATTEMPT_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    with transaction.atomic():
        deleted, _ = Attempt.objects.filter(
            delivery__state=Delivery.State.SUCCEEDED, delivery__delivered_at__lt=cutoff
        ).delete()
    return deleted
