import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from channels_integration.management.commands.create_channel import _describe, channel_by_code
from channels_integration.scopes import ALL_SCOPES
from channels_integration.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a channel and print its secret once, as JSON. Store it now: it is not kept."

    def add_arguments(self, parser):
        parser.add_argument("channel", help="channel code")
        parser.add_argument(
            "--scopes", required=True, help=f"comma-separated, from: {', '.join(ALL_SCOPES)}"
        )
        parser.add_argument("--name", default="")

    def handle(self, *args, channel, scopes, name, **options):
        found = channel_by_code(channel)
        try:
            issued = api_key_create(
                channel=found, scopes=[s.strip() for s in scopes.split(",") if s.strip()], name=name
            )
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc
        self.stdout.write(
            json.dumps(
                {
                    "channel": found.code,
                    "prefix": issued.api_key.prefix,
                    "scopes": issued.api_key.scopes,
                    "key": issued.secret,
                }
            )
        )
