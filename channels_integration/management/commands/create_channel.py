import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from channels_integration.connectors.setup import channel_set_up
from channels_integration.models import Channel


class Command(BaseCommand):
    help = ("Create a sales channel and print it as JSON, with its webhook secret: store it now, it is not shown "
            "again. A Shopify or WooCommerce channel given an address and --api-token also gets its stock feed.")

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--kind", choices=Channel.Kind.values, default=Channel.Kind.API)
        parser.add_argument("--name", default="")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument(
            "--insufficient-stock", choices=Channel.StockPolicy.values, default=Channel.StockPolicy.HOLD
        )
        parser.add_argument("--webhook-secret", default="",
                            help="Shopify: the app's client secret (required). WooCommerce: generated if omitted.")
        address = parser.add_mutually_exclusive_group()
        address.add_argument("--shop-domain", default="", help="Shopify: my-store.myshopify.com")
        address.add_argument("--store-url", default="", help="WooCommerce: https://shop.example.com")
        parser.add_argument("--api-token", default="",
                            help="Shopify: Admin API access token. WooCommerce: consumer_key:consumer_secret.")

    def handle(self, *args, code, kind, name, currency, insufficient_stock, webhook_secret, shop_domain, store_url,
               api_token, **options):
        try:
            channel = channel_set_up(
                code=code, name=name, kind=kind, currency=currency, insufficient_stock_policy=insufficient_stock,
                webhook_secret=webhook_secret, shop_domain=shop_domain, store_url=store_url, api_token=api_token,
            )
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc
        printed = {
            "id": channel.pk,
            "code": channel.code,
            "name": channel.name,
            "kind": channel.kind,
            "currency": channel.currency,
            "insufficient_stock_policy": channel.insufficient_stock_policy,
        }
        if channel.kind in (Channel.Kind.SHOPIFY, Channel.Kind.WOOCOMMERCE):
            printed["webhook_secret"] = channel.webhook_secret
            printed["webhook_url_path"] = f"/webhooks/{channel.kind}/{channel.code}/"
            printed["stock_feed"] = channel.has_api_credentials
        self.stdout.write(json.dumps(printed))


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
