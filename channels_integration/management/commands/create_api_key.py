import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from channels_integration.management.commands.create_channel import _describe, channel_by_code
from channels_integration.scopes import SCOPES
from channels_integration.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a channel and print its secret once, as JSON. Store it now: it is not kept."

    def add_arguments(self, parser):
        parser.add_argument("channel", help="channel code")
        parser.add_argument(
            "--scopes", required=True,
            help="comma-separated, from: " + "; ".join(f"{scope} ({allows})" for scope, allows in SCOPES.items()),
        )
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--allow-stock-write", metavar="REASON", default="",
            help="let a sales channel's key have inventory:write anyway; the reason is stored on the key",
        )

    def handle(self, *args, channel, scopes, name, allow_stock_write, **options):
        found = channel_by_code(channel)
        try:
            issued = api_key_create(
                channel=found, scopes=[s.strip() for s in scopes.split(",") if s.strip()], name=name,
                stock_write_reason=allow_stock_write,
            )
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc
        printed = {
            "channel": found.code,
            "prefix": issued.api_key.prefix,
            "scopes": issued.api_key.scopes,
            "key": issued.secret,
        }
        if issued.api_key.stock_write_reason:
            printed["stock_write_reason"] = issued.api_key.stock_write_reason
        self.stdout.write(json.dumps(printed))
