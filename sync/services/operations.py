"""Sweeping, replay, cancel and retention: what beat and operators do to the outbox."""

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Q
from django.utils import timezone

from sync.dispatch import busy_queues, nudge_on_commit
from sync.models import Attempt, Delivery, Endpoint, OperatorAlert
from sync.services.delivery import _locked, earlier_open_deliveries, nudge_successor

REPLAYABLE = (Delivery.State.DEAD, Delivery.State.CANCELLED, Delivery.State.PENDING, Delivery.State.SUCCEEDED)
CANCELLABLE = (Delivery.State.PENDING, Delivery.State.DEAD)


def deliveries_sweep(*, limit: int | None = None) -> int:
    """Queues due deliveries and expired leases that no queued task covers; returns how many.

    A delivery whose nudge expired is re-sent only when its queue is empty (see busy_queues): a backlog must
    not be multiplied by duplicates. Rows are locked with SKIP LOCKED so several beat instances (or a slow
    one overlapping itself) never queue the same delivery twice; a stream's later events are skipped while
    an earlier one is open.
    """
    now = timezone.now()
    due = Q(state=Delivery.State.PENDING, next_attempt_at__lte=now, endpoint__active=True) & (
        Q(endpoint__paused_until__isnull=True) | Q(endpoint__paused_until__lte=now)
    )
    stuck = Q(state=Delivery.State.IN_FLIGHT, lease_expires_at__lte=now)
    idle = set(Endpoint.Kind.values) - busy_queues(set(Endpoint.Kind.values))
    with transaction.atomic():
        rows = list(
            _locked(Delivery.objects.filter(due | stuck))
            .filter(Q(nudge_expires_at__isnull=True) | Q(nudge_expires_at__lte=now, endpoint__kind__in=idle))
            .exclude(Exists(earlier_open_deliveries()))
            .order_by("next_attempt_at")
            .values_list("pk", "endpoint__kind")[: limit or settings.SYNC_SWEEP_BATCH]
        )
        if not rows:
            return 0
        Delivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            nudge_expires_at=now + timedelta(seconds=settings.SYNC_NUDGE_TTL)
        )
        for pk, kind in rows:
            nudge_on_commit(pk, kind)
    return len(rows)


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
            delivery.nudge_expires_at = now + timedelta(seconds=settings.SYNC_NUDGE_TTL)
            delivery.delivered_at = None
        Delivery.objects.bulk_update(
            deliveries, ["state", "attempts", "next_attempt_at", "nudge_expires_at", "delivered_at"]
        )
        OperatorAlert.objects.filter(delivery__in=deliveries, resolved_at=None).update(resolved_at=now)
        for delivery in deliveries:
            nudge_on_commit(delivery.pk, delivery.endpoint.kind)
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
        for delivery in deliveries:
            nudge_successor(delivery, now)
    return len(deliveries)


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
