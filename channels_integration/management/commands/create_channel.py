import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from channels_integration.models import Channel
from channels_integration.services import channel_create


class Command(BaseCommand):
    help = "Create a sales channel and print it as JSON."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--kind", choices=Channel.Kind.values, default=Channel.Kind.API)
        parser.add_argument("--name", default="")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument(
            "--insufficient-stock", choices=Channel.StockPolicy.values, default=Channel.StockPolicy.HOLD
        )

    def handle(self, *args, code, kind, name, currency, insufficient_stock, **options):
        try:
            channel = channel_create(
                code=code, name=name, kind=kind, currency=currency, insufficient_stock_policy=insufficient_stock
            )
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc
        self.stdout.write(
            json.dumps(
                {
                    "id": channel.pk,
                    "code": channel.code,
                    "name": channel.name,
                    "kind": channel.kind,
                    "currency": channel.currency,
                    "insufficient_stock_policy": channel.insufficient_stock_policy,
                }
            )
        )


def channel_by_code(code: str) -> Channel:
    """The channel named on the command line, or a CommandError that lists the ones there are."""
    found = Channel.objects.filter(code=code).first()
    if found is None:
        known = ", ".join(Channel.objects.values_list("code", flat=True)) or "none yet; run create_channel"
        raise CommandError(f"No channel {code!r}. Known channels: {known}.")
    return found


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)
