"""Thin Celery tasks: ids in, one service call, idempotent (a duplicate drain finds nothing to claim)."""

from celery import shared_task
from celery.signals import worker_process_shutdown, worker_shutdown

from sync import services
from sync.routing import DRAIN_TASK, SWEEP_TASK
from sync.services.drain import sender_shutdown


@shared_task(name=DRAIN_TASK)
def endpoint_drain(endpoint_id: int, kind: str) -> str:
    """`kind` routes the message to the endpoint kind's queue (see sync.routing) and books the next drain."""
    return services.endpoint_drain(endpoint_id=endpoint_id, kind=kind)


@shared_task(name=SWEEP_TASK)
def deliveries_sweep() -> int:
    return services.deliveries_sweep()


@shared_task(name="sync.tasks.attempts_prune")
def attempts_prune() -> int:
    return services.attempts_prune()


@worker_process_shutdown.connect
@worker_shutdown.connect
def _finish_sends(**_kwargs) -> None:
    """A warm shutdown lets the sends in flight finish and record (a SIGKILL leaves them to the sweeper)."""
    sender_shutdown()
