from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from channels_integration.connectors.clients import ChannelApiError
from channels_integration.connectors.reconcile import ReconcileBusy, channel_reconcile
from channels_integration.management.commands.create_channel import channel_by_code


def _moment(value: str, option: str) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value) if "T" in value or " " in value else parse_datetime(f"{value}T00:00:00+00:00")
    if parsed is None or parsed.tzinfo is None:
        raise CommandError(f"{option} {value!r}: give an ISO 8601 time with offset, e.g. 2026-11-20T10:00:00Z, "
                           "or a date such as 2026-11-20 (UTC).")
    return parsed


class Command(BaseCommand):
    help = ("Ask a Shopify or WooCommerce channel for the orders it updated since --since (default: where the "
            "last run ended, minus the overlap) and ingest what its webhooks missed. Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("channel", help="channel code")
        parser.add_argument("--since", default="", help="ISO 8601 time or date (UTC)")
        parser.add_argument("--until", default="", help="ISO 8601 time or date (UTC); default now")

    def handle(self, *args, channel, since, until, **options):
        found = channel_by_code(channel)
        since_at, until_at = _moment(since, "--since"), _moment(until, "--until")
        if since_at and until_at and since_at >= until_at:
            raise CommandError("--since must be before --until.")
        with tqdm(desc=f"reconciling {found.code}", unit="order", file=self.stderr) as bar:
            try:
                report = channel_reconcile(channel=found, since=since_at, until=until_at, progress=bar)
            except (ChannelApiError, ReconcileBusy) as exc:
                raise CommandError(f"{exc}. Fix the cause and run the command again; it resumes where it stopped.") \
                    from exc
        outcomes = ", ".join(f"{n} {state}" for state, n in sorted(report.outcomes.items())) or "none new"
        self.stdout.write(
            f"{found.code}: read {report.fetched} order(s) updated {report.since:%Y-%m-%d %H:%M} – "
            f"{report.until:%Y-%m-%d %H:%M} UTC{' (resumed)' if report.resumed else ''}; {outcomes}; "
            f"{report.ingested} ingested"
        )
