"""manage.py customer_erase EMAIL --actor NAME [--force]: anonymise a customer's personal data everywhere."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from compliance.personal_data import ErasureRefused, customer_erase


class Command(BaseCommand):
    help = "Anonymise the personal data of the customer with this email; amounts, SKUs and history stay."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--actor", required=True, help="Who asked for it (recorded).")
        parser.add_argument("--force", action="store_true", help="Erase even while an order is not finished.")

    def handle(self, *, email, actor, force, **options):
        if not actor.strip():
            raise CommandError("--actor: name who asked for the erasure.")
        try:
            erasure = customer_erase(email=email, actor=actor.strip(), force=force,
                                     progress=lambda it, **kw: tqdm(it, file=sys.stderr, **kw))
        except ErasureRefused as exc:
            raise CommandError(f"refused: {exc}") from exc
        if erasure is None:
            self.stdout.write(f"nothing found for {email!r}")
            return
        self.stdout.write(f"erased: {erasure.counts} (erasure record {erasure.pk})")
