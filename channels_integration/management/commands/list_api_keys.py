from django.core.management.base import BaseCommand

from channels_integration.management.commands.create_channel import channel_by_code
from channels_integration.models import ApiKey


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


class Command(BaseCommand):
    help = "List a channel's API keys: prefix, name, scopes, created, last used, revoked. Secrets are never shown."

    def add_arguments(self, parser):
        parser.add_argument("channel", help="channel code")

    def handle(self, *args, channel, **options):
        found = channel_by_code(channel)
        keys = list(ApiKey.objects.filter(channel=found).order_by("created_at", "pk"))
        if not keys:
            self.stdout.write(f"Channel {found.code} has no API keys; make one with create_api_key {found.code}.")
            return
        rows = [("PREFIX", "NAME", "SCOPES", "CREATED", "LAST USED", "REVOKED")] + [
            (k.prefix, k.name or "-", ",".join(k.scopes), _when(k.created_at), _when(k.last_used_at),
             _when(k.revoked_at))
            for k in keys
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
