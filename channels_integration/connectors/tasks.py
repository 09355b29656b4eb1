"""Thin tasks: ids in, one service call, idempotent. Inbound processing and reconciliation run on `channel`."""

from celery import current_app, shared_task

from channels_integration.connectors import inbound, reconcile
from channels_integration.connectors.clients import ChannelApiError
from channels_integration.models import Channel

RECONCILE_TASK = "channels.reconcile"


@shared_task(name=inbound.PROCESS_TASK)
def inbound_process(message_id: int) -> str:
    return inbound.inbound_process(message_id=message_id)


@shared_task(name="channels.inbound_sweep")
def inbound_sweep() -> int:
    return inbound.inbound_sweep()


@shared_task(name="channels.reconcile_due")
def reconcile_due() -> int:
    due = reconcile.channels_due()
    for channel_id in due:
        current_app.send_task(RECONCILE_TASK, args=[channel_id], queue=inbound.QUEUE)
    return len(due)


@shared_task(name=RECONCILE_TASK)
def reconcile_channel(channel_id: int) -> str:
    channel = Channel.objects.filter(pk=channel_id, active=True).first()
    if channel is None:
        return "no such active channel"
    try:
        report = reconcile.channel_reconcile(channel=channel)
    except reconcile.ReconcileBusy:
        return "busy"
    except ChannelApiError as exc:
        # Recorded on the channel's Reconciliation row; the next due run tries again from the saved cursor.
        return f"failed: {exc}"
    return f"fetched {report.fetched}, ingested {report.ingested}"
