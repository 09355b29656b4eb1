"""manage.py customer_export EMAIL [--output FILE]: everything held about a customer, as JSON."""

import json
import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from compliance.personal_data import customer_export


class Command(BaseCommand):
    help = "Export everything held about the customer with this email as JSON (orders, inbound messages, ...)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--output", help="Write the JSON here instead of standard output.")

    def handle(self, *, email, output, **options):
        data = customer_export(email=email, progress=lambda it, **kw: tqdm(it, file=sys.stderr, **kw))
        if data is None:
            self.stderr.write(f"nothing found for {email!r}")
            return
        text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
        if output:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
            self.stderr.write(f"wrote {output}")
        else:
            self.stdout.write(text)
