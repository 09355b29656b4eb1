"""Reconciliation: read the orders a channel updated in a window and ingest what its webhooks missed.

Each run reads a window [since, until): by default from the last finished run's `until` minus an overlap to now.
The page cursor is saved after every page, so a run that dies resumes where it stopped; a lease keeps two runs
of one channel apart. Orders we already hold at their current `updated_at` are skipped; the others are stored
as inbound messages (source "reconcile") and processed exactly like webhooks, so running twice adds nothing.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from channels_integration.connectors.adapters import ADAPTERS
from channels_integration.connectors.clients import ChannelApiError, client_for
from channels_integration.connectors.inbound import inbound_process
from channels_integration.connectors.payload import PayloadError
from channels_integration.models import Channel, ChannelOrder, InboundMessage, Reconciliation

LEASE = timedelta(minutes=10)


class ReconcileBusy(Exception):
    pass


@dataclass
class ReconcileReport:
    since: datetime
    until: datetime
    fetched: int = 0
    ingested: int = 0
    outcomes: dict = field(default_factory=dict)
    resumed: bool = False


def reconcile_interval(channel: Channel) -> timedelta:
    return channel.reconcile_interval or settings.CHANNELS_RECONCILE_INTERVAL


def _claim(channel: Channel, *, since, until, now) -> tuple[Reconciliation, bool]:
    """Takes the channel's lease and fixes the window; resumes an unfinished run's window unless told otherwise."""
    with transaction.atomic():
        Reconciliation.objects.get_or_create(channel=channel)
        state = Reconciliation.objects.select_for_update().get(channel=channel)
        if state.lease_expires_at and state.lease_expires_at > now:
            raise ReconcileBusy(f"a reconciliation of {channel.code} is running (lease until "
                                f"{state.lease_expires_at:%H:%M:%S} UTC); wait for it to finish")
        resumed = since is None and bool(state.cursor) and state.window_since is not None
        if not resumed:
            overlap = settings.CHANNELS_RECONCILE_OVERLAP
            state.window_since = since or (state.completed_until or now - reconcile_interval(channel)) - overlap
            state.window_until = until or now
            state.cursor = ""
        state.lease_expires_at = now + LEASE
        state.last_started_at = now
        state.last_error = ""
        state.save()
    return state, resumed


def _save(state: Reconciliation, **changes) -> None:
    Reconciliation.objects.filter(pk=state.pk).update(**changes)


def _already_applied(channel: Channel, orders: list[dict], adapter) -> set[str]:
    """External ids whose stored source timestamp is at least the fetched one: nothing new to apply."""
    stamps = {}
    for raw in orders:
        try:
            co = adapter.order_from(raw)
        except PayloadError:
            continue  # stored and processed, so the failure is visible with its field
        stamps[co.external_id] = co.source_updated_at
    if not stamps:
        return set()
    known = ChannelOrder.objects.filter(channel=channel, external_id__in=stamps).filter(
        ~Q(source_updated_at=None)).values_list("external_id", "source_updated_at")
    return {external_id for external_id, at in known if at >= stamps[external_id]}


def _store(channel: Channel, raw: dict) -> InboundMessage:
    body = json.dumps(raw, ensure_ascii=False, sort_keys=True).encode()
    external_id = str(raw.get("id", ""))[:100]
    stamp = raw.get("updated_at") or raw.get("date_modified_gmt") or ""
    message, _ = InboundMessage.objects.get_or_create(
        channel=channel, dedupe_key=f"reconcile:{external_id}:{stamp}"[:200],
        defaults={"source": InboundMessage.Source.RECONCILE, "topic": "reconcile", "body": body,
                  "external_id": external_id, "queued_at": timezone.now()},
    )
    return message


def channel_reconcile(*, channel: Channel, since: datetime | None = None, until: datetime | None = None,
                      progress=None, sleep=None) -> ReconcileReport:
    """Runs one reconciliation of `channel`; `progress` (a tqdm bar) is told the total and each order read."""
    adapter = ADAPTERS.get(channel.kind)
    if adapter is None:
        raise ChannelApiError(f"{channel.get_kind_display()} channels have no orders API to reconcile with")
    now = timezone.now()
    state, resumed = _claim(channel, since=since, until=until, now=now)
    report = ReconcileReport(since=state.window_since, until=state.window_until, resumed=resumed)
    kwargs = {"sleep": sleep} if sleep else {}
    try:
        with client_for(channel, **kwargs) as client:
            for page in client.pages(since=state.window_since, until=state.window_until, cursor=state.cursor):
                if progress is not None and page.total is not None and progress.total is None:
                    progress.total = page.total
                    progress.refresh()
                skip = _already_applied(channel, page.orders, adapter)
                for raw in page.orders:
                    report.fetched += 1
                    if str(raw.get("id")) not in skip:
                        message = _store(channel, raw)
                        if message.state == InboundMessage.State.RECEIVED:
                            outcome = inbound_process(message_id=message.pk)
                            report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
                            report.ingested += outcome == InboundMessage.State.PROCESSED
                    if progress is not None:
                        progress.update(1)
                _save(state, cursor=page.next_cursor, lease_expires_at=timezone.now() + LEASE)
    except ChannelApiError as exc:
        _save(state, lease_expires_at=None, last_error=str(exc)[:2000], last_fetched=report.fetched,
              last_ingested=report.ingested)
        raise
    _save(state, cursor="", completed_until=state.window_until, lease_expires_at=None,
          last_finished_at=timezone.now(), last_fetched=report.fetched, last_ingested=report.ingested)
    return report


def channels_due(*, now=None) -> list[int]:
    """Connected Shopify/WooCommerce channels whose interval has passed since their last finished run."""
    now = now or timezone.now()
    due = []
    candidates = Channel.objects.filter(active=True, kind__in=list(ADAPTERS)).exclude(api_token="").select_related(
        "reconciliation")
    for channel in candidates:
        if not channel.has_api_credentials:
            continue
        state = getattr(channel, "reconciliation", None)
        finished = state.last_finished_at if state else None
        leased = state is not None and state.lease_expires_at and state.lease_expires_at > now
        if not leased and (finished is None or finished + reconcile_interval(channel) <= now):
            due.append(channel.pk)
    return due
