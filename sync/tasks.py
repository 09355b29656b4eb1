"""Thin Celery tasks: ids in, one service call, idempotent (a duplicate nudge finds nothing to claim)."""

from celery import shared_task

from sync import services


@shared_task(name="sync.tasks.delivery_attempt")
def delivery_attempt(delivery_id: int, kind: str | None = None) -> str:
    """`kind` only routes the message to the endpoint kind's queue (see sync.routing)."""
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="sync.tasks.deliveries_sweep")
def deliveries_sweep() -> int:
    return services.deliveries_sweep()


@shared_task(name="sync.tasks.attempts_prune")
def attempts_prune() -> int:
    return services.attempts_prune()
