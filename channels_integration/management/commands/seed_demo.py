import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from analytics.history import order_history_seed
from channels_integration.models import Channel
from channels_integration.services import channel_create, channel_webhook_secret_set
from inventory.models import Sku
from inventory.services import sku_upsert, stock_receive, warehouse_upsert
from notifications.services import notification_endpoint_ensure
from sync.models import Endpoint
from sync.services.endpoints import endpoint_create, endpoint_set_url

OPERATOR_USERNAME = "operator"
DEMO_CHANNELS = (
    ("webshop", "Own web shop (REST API)", Channel.Kind.API),
    ("shopify-demo", "Shopify demo store", Channel.Kind.SHOPIFY),
    ("woo-demo", "WooCommerce demo store", Channel.Kind.WOOCOMMERCE),
)
DEMO_WAREHOUSES = (("berlin", "Berlin DC", 10, "DE"), ("rotterdam", "Rotterdam DC", 20, "NL"))
# (code, name, safety stock, units per warehouse in DEMO_WAREHOUSES order)
DEMO_SKUS = (
    ("TSHIRT-BLK-M", "T-shirt black M", 2, (40, 25)),
    ("HOODIE-GRY-L", "Hoodie grey L", 1, (12, 8)),
    ("MUG-LOGO", "Mug with logo", 5, (100, 0)),
    ("CAP-NAVY", "Cap navy", 0, (0, 6)),
)
ACTOR = "system:seed_demo"
DEMO_HISTORY_DAYS = 28  # enough for `manage.py forecast`; a rerun only adds the hours since the last one
# Stand-ins for the downstream systems; they post to the local demo receiver (settings.ORDERSYNC_DEMO_RECEIVER).
DEMO_ENDPOINTS = (
    ("demo-payment", Endpoint.Kind.PAYMENT, ["order.*"]),
    ("demo-warehouse", Endpoint.Kind.STOCK, ["order.*", "stock.changed"]),
    ("demo-carrier", Endpoint.Kind.LOGISTICS, ["order.*"]),
    ("demo-notify", Endpoint.Kind.NOTIFICATION, ["order.*"]),
)


class Command(BaseCommand):
    help = "Load demo data for `make run` (idempotent) and print the operator's admin credentials."

    def add_arguments(self, parser):
        parser.add_argument(
            "--receiver-base", default="",
            help="base URL of the running web server, e.g. http://127.0.0.1:8000; demo endpoints post there",
        )

    def handle(self, *args, receiver_base, **options):
        with transaction.atomic():
            for code, name, kind in DEMO_CHANNELS:
                channel = Channel.objects.filter(code=code).first()
                if channel is None:
                    # The demo stores are not real shops: we sign their test webhooks ourselves.
                    secret = secrets.token_urlsafe(24) if kind != Channel.Kind.API else ""
                    channel_create(code=code, name=name, kind=kind, webhook_secret=secret)
                elif kind != Channel.Kind.API and not channel.webhook_secret:
                    channel_webhook_secret_set(channel=channel)
            for code, name, priority, country in DEMO_WAREHOUSES:
                warehouse_upsert(code=code, name=name, priority=priority, country=country)
            for code, name, safety_stock, units in DEMO_SKUS:
                # Stock is received only when the SKU is new, so re-running never inflates what an operator changed.
                if Sku.objects.filter(code=code).exists():
                    continue
                sku_upsert(code=code, name=name, safety_stock=safety_stock, actor=ACTOR)
                for (warehouse, *_), quantity in zip(DEMO_WAREHOUSES, units, strict=True):
                    if quantity:
                        stock_receive(sku_code=code, warehouse_code=warehouse, quantity=quantity, actor=ACTOR,
                                      reason="demo data")
            if receiver_base:
                self._endpoints(receiver_base.rstrip("/"))
            notification_endpoint_ensure()  # customer email (EMAIL_URL; the console by default)
        order_history_seed(days=DEMO_HISTORY_DAYS, orders_per_hour=3,
                           channels=list(Channel.objects.filter(active=True)))
        username, password = self._operator()
        self.stdout.write(f"ordersync: admin login: username {username!r} password {password!r}")
        for channel in Channel.objects.filter(code__in=[c for c, _n, k in DEMO_CHANNELS if k != Channel.Kind.API]):
            self.stdout.write(
                f"ordersync: demo {channel.get_kind_display()} webhooks: POST "
                f"{receiver_base.rstrip('/')}/webhooks/{channel.kind}/{channel.code}/ signed with secret "
                f"{channel.webhook_secret!r} (docs/CHANNELS.md, 'Try it locally')"
            )

    def _endpoints(self, base: str) -> None:
        """Creates the demo endpoints once; a later run on another port only moves their URL."""
        for name, kind, topics in DEMO_ENDPOINTS:
            url = f"{base}/demo/receiver/{name}/"
            endpoint = Endpoint.objects.filter(name=name).first()
            if endpoint is None:
                endpoint_create(name=name, kind=kind, url=url, topics=topics)
            else:
                endpoint_set_url(endpoint_id=endpoint.pk, url=url)

    def _operator(self) -> tuple[str, str]:
        """The password is kept in .run/ so every `make run` can print it; a missing file means a fresh one."""
        password_file = Path(settings.RUN_DIR) / "operator-password"
        User = get_user_model()
        user = User.objects.filter(username=OPERATOR_USERNAME).first()
        if user is not None and password_file.exists():
            return OPERATOR_USERNAME, password_file.read_text().strip()
        password = secrets.token_urlsafe(12)
        if user is None:
            User.objects.create_superuser(OPERATOR_USERNAME, "operator@ordersync.localhost", password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        return OPERATOR_USERNAME, password
