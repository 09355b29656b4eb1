import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from channels_integration.models import Channel
from channels_integration.services import channel_create

OPERATOR_USERNAME = "operator"
DEMO_CHANNELS = (
    ("webshop", "Own web shop (REST API)", Channel.Kind.API),
    ("shopify-demo", "Shopify demo store", Channel.Kind.SHOPIFY),
    ("woo-demo", "WooCommerce demo store", Channel.Kind.WOOCOMMERCE),
)


class Command(BaseCommand):
    help = "Load demo data for `make run` (idempotent) and print the operator's admin credentials."

    def handle(self, *args, **options):
        with transaction.atomic():
            for code, name, kind in DEMO_CHANNELS:
                if not Channel.objects.filter(code=code).exists():
                    channel_create(code=code, name=name, kind=kind)
        username, password = self._operator()
        self.stdout.write(f"ordersync: admin login: username {username!r} password {password!r}")

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
